"""JSON bodies are decoded strictly: a quantity must be a JSON number, a time an RFC 3339 string.

Litestar converts request bodies leniently (`"2"` becomes 2, `12345` a date); this hook runs
before that and refuses a body that only a lenient decoder would accept.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException

_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    if request.method not in _METHODS_WITH_BODY:
        return
    body_type = _body_type(request)
    if body_type is None:
        return
    raw = await request.body()
    if not raw.strip():
        return  # Litestar decides: an optional body may be absent, a required one is refused
    try:
        msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError as e:
        _ensure_json(raw)  # msgspec validates while it parses: a later syntax error wins
        raise ValidationException(
            detail="the request does not match its schema",
            extra=[{"message": str(e), "key": "data"}],
        ) from e
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ClientException("the request body is not valid JSON") from e


def _body_type(request: Request[Any, Any, Any]) -> Any:
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    return parameter.annotation if parameter is not None else None


def _ensure_json(raw: bytes) -> None:
    try:
        msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ClientException("the request body is not valid JSON") from e
