"""One remote system over httpx: timeouts, a deadline, answers sorted into expected or errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar

import httpx
from opentelemetry.trace import SpanKind

from adapters.http.errors import describe, http_error, transport_error
from adapters.http.resilience import CircuitBreaker, RetryPolicy, resilient
from adapters.redaction import scrubbed
from ports.correlation import HEADER as CORRELATION_HEADER
from ports.correlation import current_correlation_id
from ports.remote import RemoteError, RemoteUnavailable
from ports.tracing import span

T = TypeVar("T")
#: turns an unexpected answer into the port error it means; adapters refine the default
Classifier = Callable[[httpx.Response, str], RemoteError]
USER_AGENT = "orderhub"
#: Request headers whose values are credentials.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-shopify-access-token", "x-api-key"}
)
#: Form fields whose values are credentials (an OAuth client-credentials sign-in).
CREDENTIAL_FIELDS = frozenset({"client_secret", "password", "refresh_token"})


class RemoteClient:
    """Talks to one remote system and hands back only the answers the caller expects.

    `send` makes exactly one request: an answer whose status is in `expect` is returned, any
    other answer or a failure on the wire leaves as `RemoteUnavailable` (later may work) or
    `RemoteRejected` (it will not). `timeout` bounds each phase of a request (connect, write,
    each read, pool wait); `deadline`, when set, bounds the whole request, so a remote system
    trickling bytes cannot hold a worker. `run` puts a whole operation, which may take several
    requests (look, then write), through the retry policy and the circuit breaker, so a retry
    repeats the operation's own duplicate checks. An instance belongs to one event loop; the
    breaker may be shared more widely.

    No credential leaves in text: a user and password in a URL (`base_url` or one given to `send`)
    are sent as basic auth and taken out of the URL, so neither httpx's log lines nor the span's
    `url.full` carry them; and an answer quoted in an error has every credential this client sent (its
    credential headers and form fields) replaced by `***`, should the remote echo it back.
    """

    def __init__(
        self,
        system: str,
        *,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 5.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        classify: Classifier = http_error,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.system = system
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(system)
        self._deadline = deadline
        self._classify = classify
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await resilient(operation, retry=self.retry, breaker=self.breaker)

    async def send(
        self,
        method: str,
        url: str,
        *,
        expect: Collection[int] = (200, 201, 204),
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        correlation = current_correlation_id()
        if correlation is not None:  # the other system's logs can be joined to ours
            headers = {CORRELATION_HEADER: correlation, **(headers or {})}
        request = self._client.build_request(
            method, url, json=json, data=data, params=params, headers=headers
        )
        auth: httpx.Auth | Any = httpx.USE_CLIENT_DEFAULT
        if request.url.userinfo:  # as basic auth (what httpx would do), but out of the URL
            auth = httpx.BasicAuth(request.url.username, request.url.password)
            request.url = request.url.copy_with(userinfo=b"")
        with span(
            f"{self.system} {method}",
            SpanKind.CLIENT,
            **{"http.request.method": method, "url.full": str(request.url)},
        ) as current:
            try:
                async with asyncio.timeout(self._deadline):
                    response = await self._client.send(request, auth=auth)
            except httpx.HTTPError as e:
                raise transport_error(e, request, self.system) from e
            except TimeoutError as e:
                raise RemoteUnavailable(
                    f"{self.system} {describe(request)}: no answer within {self._deadline}s"
                ) from e
            current.set_attribute("http.response.status_code", response.status_code)
        if response.status_code in expect:
            return response
        raise self._classify(_without_credentials(response, data), self.system)

    async def aclose(self) -> None:
        await self._client.aclose()


def _without_credentials(
    response: httpx.Response, data: Mapping[str, str] | None
) -> httpx.Response:
    """The answer with every credential its request carried replaced by `***` in its body, for
    the error that quotes it."""
    request = response.request
    sent = [v for k, v in request.headers.items() if k.lower() in CREDENTIAL_HEADERS]
    sent += [v.partition(" ")[2] for v in sent if " " in v]  # `Bearer <token>`: the token alone
    sent += [v for k, v in (data or {}).items() if k in CREDENTIAL_FIELDS]
    if request.url.password:
        sent.append(request.url.password)
    text = response.text
    clean = scrubbed(text, sent)
    if clean == text:
        return response
    kept = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
    }
    return httpx.Response(response.status_code, headers=kept, text=clean, request=request)
