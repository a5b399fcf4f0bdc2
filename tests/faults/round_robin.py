"""A simple round-robin HTTP balancer in front of several API processes, as a retailer's load
balancer would be: each request goes to the next API in turn (not each connection, so one
keep-alive client still reaches every process), and a request an API could not take (connection
refused) goes to the next one."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import httpx

#: Hop-by-hop headers a proxy does not pass on (RFC 9110 §7.6.1), and the ones httpx sets itself.
_NOT_FORWARDED = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"host", b"content-length"}
)


class RoundRobin:
    """An ASGI app forwarding every HTTP request to `upstreams` in turn; `served` counts the
    requests each upstream answered."""

    def __init__(self, upstreams: list[str], timeout: float = 30.0) -> None:
        self.upstreams = upstreams
        self.served: Counter[str] = Counter()
        self._turn = itertools.cycle(range(len(upstreams)))
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _NOT_FORWARDED]
        target = scope["raw_path"] + (
            b"?" + scope["query_string"] if scope["query_string"] else b""
        )
        first = next(self._turn)
        for i in range(len(self.upstreams)):
            upstream = self.upstreams[(first + i) % len(self.upstreams)]
            try:
                answer = await self._http().request(
                    scope["method"], upstream + target.decode("latin-1"), headers=headers,
                    content=body,
                )  # fmt: skip
            except httpx.ConnectError:
                continue  # that process is down: the next one takes the request
            except httpx.HTTPError:
                await _reply(send, 504, [], b"")
                return
            self.served[upstream] += 1
            kept = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
                    if k.encode("latin-1") not in _NOT_FORWARDED and k != "content-encoding"]  # fmt: skip
            await _reply(send, answer.status_code, kept, answer.content)
            return
        await _reply(send, 502, [], b"")

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, inside the server's event loop (a client is bound to its loop).
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
