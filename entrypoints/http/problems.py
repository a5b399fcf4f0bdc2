"""RFC 9457 problem details: every error the API returns, with a stable `code`."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from adapters.sql.errors import translate
from domain.errors import DomainError
from ports.idempotency import ClaimLost
from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable

logger = logging.getLogger("orderhub.http")

PROBLEM_JSON = "application/problem+json"

#: HTTP status for each family of domain error.
_STATUS_BY_KIND = {
    "invalid": 422,
    "policy": 422,
    "conflict": 409,
    "not_found": 404,
    "precondition": 412,
    "limit": 422,
}

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


#: Codes the HTTP layer itself sends (`ApiError`, `problem(...)` and the handlers below), besides
#: the domain's; `problem_codes()` joins the two into the document's `code` enum, and
#: tests/unit/http/test_problem_codes.py finds every code written in `entrypoints/` in it.
HTTP_CODES: Final = frozenset(
    {
        *_CODE_BY_STATUS.values(),
        "error",  # `http_error` for a status without a code of its own
        "already_replayed", "contention", "cursor_expired", "database_unavailable",
        "dead_letter_not_found", "dead_letter_unreplayable", "event_types_not_offered",
        "idempotency_key_required", "idempotency_key_reused", "invalid_cursor",
        "invalid_idempotency_key", "invalid_if_match", "invalid_signature", "invalid_triggered_at",
        "malformed_json",
        "rate_limited", "request_in_progress", "source_not_allowed", "too_many_failed_authentications",
        "unknown_event_types", "unsupported_event_type", "unsupported_topic",
        "webhook_not_configured", "webhook_subscription_disabled", "webhook_subscription_not_found",
        "webhook_target_refused", "webhook_too_old", "webhooks_not_configured",
    }
)  # fmt: skip


def _domain_errors(root: type[DomainError] = DomainError) -> Iterator[type[DomainError]]:
    yield root
    for sub in root.__subclasses__():
        yield from _domain_errors(sub)


def problem_codes() -> list[str]:
    """Every stable `code` a problem answer can carry: the domain's error tree and the HTTP layer's."""
    return sorted({error.code for error in _domain_errors()} | HTTP_CODES)


class ApiError(HTTPException):
    """An error raised by the HTTP layer itself, with its stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.code = code
        self.extra_fields = extra


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    body: dict[str, Any] = {
        "type": f"https://orderhub.dev/problems/{code.replace('_', '-')}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain refusal (the console shows it as well as the API)."""
    return _STATUS_BY_KIND.get(exc.kind, 409)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    return problem(status_of(exc), exc.code, exc.detail, **exc.context())


def api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[bytes]:
    return problem(exc.status_code, exc.code, exc.detail, headers=exc.headers, **exc.extra_fields)


_LOCATION = re.compile(r"at `\$(?P<path>[^`]*)`")


def validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """The body, a path or a header did not match its schema: 422 with the failing fields."""
    if _caused_by_malformed_json(exc):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    errors = []
    items = exc.extra if isinstance(exc.extra, list) else []
    for item in items:
        message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        key = str(item.get("key", "data")) if isinstance(item, dict) else "data"
        if key == "data" and message == "'data'":  # Litestar found no body at all
            return problem(400, "malformed_json", "the request body is empty; send a JSON object")
        match = _LOCATION.search(message)
        if match:  # a path inside the body, as msgspec reports it
            field = match.group("path").lstrip(".") or "body"
        else:  # Litestar's parameter name: `data` is the body itself
            field = "body" if key == "data" else key
        errors.append({"field": field, "message": _LOCATION.sub("", message).strip(" -")})
    return problem(422, "validation_error", "the request does not match its schema", errors=errors)


def _caused_by_malformed_json(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UnicodeDecodeError | RecursionError):
            return True  # not UTF-8, or nested deeper than any order needs
        if isinstance(cause, msgspec.DecodeError | SerializationException) and not isinstance(
            cause, msgspec.ValidationError
        ):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code == 400 and (
        _caused_by_malformed_json(exc) or "not valid JSON" in str(exc.detail)
    ):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    detail = exc.detail if exc.status_code < 500 else "the server could not handle this request"
    return problem(exc.status_code, code, str(detail), headers=exc.headers)


def unavailable(_: Request[Any, Any, Any], exc: DatabaseUnavailable) -> Response[bytes]:
    logger.warning("database unavailable: %s", exc)
    return problem(
        503, "database_unavailable", "the database is not reachable; retry shortly",
        headers={"Retry-After": "2"},
    )  # fmt: skip


def contention(_: Request[Any, Any, Any], exc: ConcurrencyConflict) -> Response[bytes]:
    return problem(
        503, "contention", "too many concurrent changes to the same data; retry shortly",
        headers={"Retry-After": "1"},
    )  # fmt: skip


def claim_lost(_: Request[Any, Any, Any], exc: ClaimLost) -> Response[bytes]:
    return problem(
        409, "request_in_progress", "another request with this idempotency key is running"
    )


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    translated = translate(exc)  # a database error outside a unit of work (keys, reads, claims)
    if isinstance(translated, DatabaseUnavailable):
        return unavailable(request, translated)
    if isinstance(translated, ConcurrencyConflict):
        return contention(request, translated)
    if _caused_by_malformed_json(exc):
        return problem(400, "malformed_json", "the request body is not valid JSON")
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "the server could not handle this request")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ApiError: api_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    DatabaseUnavailable: unavailable,
    ConcurrencyConflict: contention,
    ClaimLost: claim_lost,
    Exception: unexpected,
}
