"""The base of the fake remote systems: a plain ASGI app that records every request it gets and
answers from a script of faults before its own handlers (errors, stalls, slow trickles)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

#: the longest any fault may hold a request; teardown releases stalls sooner
MAX_STALL = 5.0


@dataclass(frozen=True)
class Seen:
    """A request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """What the next matching request meets instead of (or after) the fake's own handler.

    `status` answers with that status and `body`; None answers with the handler's reply.
    `commit` runs the handler first, so its side effect happens even though the client sees
    the fault (a lost reply). `stall` holds the answer that many seconds; `drip` sends the body
    one byte every `drip` seconds for `drip_bytes` bytes.
    """

    status: int | None = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""
    commit: bool = False
    stall: float = 0.0
    drip: float = 0.0
    drip_bytes: int = 20


Handler = Callable[..., Reply]


class ScriptedApp:
    """An ASGI app: routes are (method, path regex) → handler(seen, **groups)."""

    routes: list[tuple[str, str, str]] = []

    def __init__(self) -> None:
        #: where the test server serves this fake; set when it is plugged in
        self.url = ""
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        self._released = threading.Event()
        self._compiled = [(m, re.compile(p), name) for m, p, name in self.routes]

    # -- scripting -------------------------------------------------------------------------

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def fail_always(self, fault: Fault, times: int = 50) -> None:
        self.faults.extend([fault] * times)

    def release(self) -> None:
        """End every stall now (teardown)."""
        self._released.set()

    def seen(self, contains: str = "") -> list[Seen]:
        return [s for s in self.requests if contains in s.line]

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen = Seen(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode())),
            headers=headers,
            body=_decode(raw, headers.get("content-type", "")),
        )
        self.requests.append(seen)
        fault = self._take_fault(seen)
        if fault is None:
            reply = self._handle(seen)
        else:
            handled = self._handle(seen) if fault.commit or fault.status is None else None
            if fault.status is None and handled is not None:
                reply = handled
            else:
                reply = Reply(fault.status or 503, fault.body, fault.headers)
            await self._stall(fault.stall)
            if fault.drip:
                await self._drip(send, reply, fault)
                return
        await _respond(send, reply)

    def _take_fault(self, seen: Seen) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.match in seen.line:
                return self.faults.pop(index)
        return None

    def _handle(self, seen: Seen) -> Reply:
        for method, pattern, name in self._compiled:
            match = pattern.fullmatch(seen.path)
            if match and method == seen.method:
                handler: Handler = getattr(self, name)
                return handler(seen, **match.groupdict())
        return Reply(404, {"errors": "Not Found"})

    async def _stall(self, seconds: float) -> None:
        deadline = time.monotonic() + min(seconds, MAX_STALL)
        while time.monotonic() < deadline and not self._released.is_set():
            await asyncio.sleep(0.01)

    async def _drip(self, send: Any, reply: Reply, fault: Fault) -> None:
        await send(_start(reply, length=fault.drip_bytes))
        for _ in range(fault.drip_bytes):
            if self._released.is_set():
                break
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            await asyncio.sleep(fault.drip)
        await send({"type": "http.response.body", "body": b""})


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "json" in content_type:
        return json.loads(raw)
    if "x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode()))
    return raw.decode()


def _start(reply: Reply, *, length: int) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
    return {"type": "http.response.start", "status": reply.status, "headers": headers}


async def _respond(send: Any, reply: Reply) -> None:
    data = b"" if reply.body is None else json.dumps(reply.body).encode()
    await send(_start(reply, length=len(data)))
    await send({"type": "http.response.body", "body": data})
