"""Translating HTTP outcomes into the remote-port errors: transient or permanent."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.http.resilience import RemoteThrottled, parse_retry_after
from ports.remote import RemoteError, RemoteRejected, RemoteUnavailable

#: statuses below 500 that mean "later may work": request timeout, too early, too many requests
TRANSIENT_4XX = frozenset({408, 425, 429})
#: statuses whose `Retry-After` header we honour
THROTTLING = frozenset({429, 503})
_DETAIL_LIMIT = 300


def is_transient(status: int) -> bool:
    return status in TRANSIENT_4XX or status >= 500


def http_error(response: httpx.Response, system: str) -> RemoteError:
    """The error for an answer we did not expect: 408/425/429/5xx are transient (with the
    `Retry-After` hint of a 429 or 503), any other status is a permanent refusal."""
    status = response.status_code
    message = f"{system} answered {status} to {describe(response.request)}: {detail(response)}"
    if not is_transient(status):
        return RemoteRejected(message)
    if status in THROTTLING:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            return RemoteThrottled(message, retry_after=retry_after)
    return RemoteUnavailable(message)


def transport_error(error: httpx.HTTPError, request: httpx.Request, system: str) -> RemoteError:
    """The error for a request that got no usable answer: anything on the wire is transient; a
    URL scheme httpx cannot speak is a configuration mistake that no retry will fix."""
    message = f"{system} {describe(request)}: {type(error).__name__} {error}".rstrip()
    if isinstance(error, httpx.UnsupportedProtocol):
        return RemoteRejected(message)
    return RemoteUnavailable(message)


def json_body(response: httpx.Response, system: str) -> Any:
    """The decoded JSON of a successful answer. A success that is not JSON (a proxy's
    maintenance page, a truncated body) is treated as the remote system not being there."""
    try:
        return response.json()
    except ValueError as e:
        raise RemoteUnavailable(
            f"{system} answered {response.status_code} to {describe(response.request)} "
            f"without JSON: {detail(response)}"
        ) from e


def detail(response: httpx.Response) -> str:
    """The start of the body, for messages and logs; never the whole of a large page."""
    text = response.text.strip().replace("\n", " ")
    return text[:_DETAIL_LIMIT] + ("…" if len(text) > _DETAIL_LIMIT else "")


def describe(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"
