"""The OpenAPI document, told true: the problems, headers, ids and security each route really has.

Litestar derives paths, parameters and bodies from the handlers; what it cannot know (which
refusals a route answers with, the headers the server adds, that a header the handler checks
itself is required, which routes need no key) is added here, once, after it built the document,
from the same handler facts the server acts on (its guards, its parameters, its `opt`).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    Example,
    Link,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.routes import HTTPRoute
from litestar.types import Method

from entrypoints.http.auth import PUBLIC
from entrypoints.http.commands import IDEMPOTENCY_KEY_PATTERN
from entrypoints.http.examples import PROBLEM_EXAMPLE, REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from entrypoints.http.problems import PROBLEM_JSON, problem_codes
from ports.correlation import HEADER as CORRELATION_HEADER

SECURITY_SCHEME = "ApiKey"

#: Route `opt` key: statuses a route answers besides those its shape implies (e.g. 410).
EXTRA_PROBLEMS = "problems"

#: `opt` key of a route whose handler checks `Idempotency-Key` itself and refuses it missing.
IDEMPOTENCY_REQUIRED = "idempotency_key_required"

TAGS: Final = [
    Tag(name="orders", description="Place orders and act on them; read an order and its timeline."),
    Tag(name="returns", description="Returns (RMAs) of an order: read, cancel, authorize, reject."),
    Tag(name="inventory", description="Stock per SKU and location, as the warehouses report it."),
    Tag(
        name="inbound",
        description="Back-office systems (ERP, warehouse, payment, CRM) report "
        "what happened; a repeated `event_id` has no effect.",
    ),
    Tag(
        name="webhooks",
        description="Shopify's webhooks (signed with HMAC-SHA256, no key) and "
        "the hub's own outbound webhook subscriptions (ops).",
    ),
    Tag(name="events", description="Every change as an ordered feed, resumable by cursor."),
    Tag(
        name="operations",
        description="For operators: stuck workflows, outbox lag, remotes "
        "and their circuits, dead letters and their replay, projection rebuilds.",
    ),
    Tag(name="health", description="Liveness and readiness probes; no key."),
]

_DESCRIPTIONS: Final = {
    400: "The body is not JSON, or a header or cursor is malformed; or (in text/plain, from the "
    "HTTP server before the app) the request is not valid HTTP, e.g. a NUL in a header",
    401: "No key, an unknown or revoked key (or a bad webhook signature)",
    403: "The key's role (or channel, or source) may not do this",
    404: "No such resource, or not one this key may see",
    409: "The resource's state does not allow this, or the request conflicts with another",
    410: "The cursor is older than the retention",
    412: "`If-Match` names a version that is no longer current",
    413: "The body is larger than 1 MiB",
    422: "The request breaks a field rule or a policy (`errors[]` names the fields)",
    429: "Too many requests for this key (or address); retry after `Retry-After` seconds",
    503: "The database is unreachable or contended; retry after `Retry-After` seconds",
}

_ORDER_ID = {"path.order_id": "$response.body#/id"}
_ORDER_VERSION = {**_ORDER_ID, "header.If-Match": "$response.header.ETag"}
_RETURN_ID = {"path.return_id": "$response.body#/id"}
#: Where a success answer leads: operationId → {link name: (target operationId, parameters)}.
#: For readers, and for schemathesis's stateful run (place → read → amend → …).
LINKS: Final[dict[str, dict[str, tuple[str, dict[str, str]]]]] = {
    "placeOrder": {
        "GetOrder": ("getOrder", _ORDER_ID),
        "GetOrderTimeline": ("getOrderTimeline", _ORDER_ID),
        "AmendOrder": ("amendOrder", _ORDER_VERSION),
        "HoldOrder": ("holdOrder", _ORDER_VERSION),
        "CancelOrder": ("cancelOrder", _ORDER_VERSION),
        "AddNote": ("addNote", _ORDER_ID),
        "RequestReturn": ("requestReturn", _ORDER_ID),
    },
    "getOrder": {
        "AmendOrder": ("amendOrder", _ORDER_VERSION),
        "HoldOrder": ("holdOrder", _ORDER_VERSION),
        "CancelOrder": ("cancelOrder", _ORDER_VERSION),
    },
    "amendOrder": {"GetOrder": ("getOrder", _ORDER_ID)},
    "holdOrder": {"ResumeOrder": ("resumeOrder", _ORDER_VERSION)},
    "requestReturn": {
        "GetReturn": ("getReturn", _RETURN_ID),
        "CancelReturn": ("cancelReturn", _RETURN_ID),
    },
}

_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    description="Seconds to wait before trying again.",
    required=True,
)
_CORRELATION = Reference(ref=f"#/components/headers/{CORRELATION_HEADER}")
_MAYBE_CORRELATION = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description="The request's correlation id; absent when the HTTP server itself refused a "
    "request that is not valid HTTP.",
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def problem_details_schema() -> Schema:
    """RFC 9457 as `problems.problem` writes it; a refusal's own facts come as extra members."""
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail", "code"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, format="uri"),  # type: ignore[arg-type]
            "title": Schema(type=OpenAPIType.STRING),
            "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
            "detail": Schema(type=OpenAPIType.STRING),
            "code": Schema(type=OpenAPIType.STRING, enum=problem_codes()),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                description="The fields that failed validation.",
                items=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["field", "message"],
                    properties={
                        "field": Schema(type=OpenAPIType.STRING),
                        "message": Schema(type=OpenAPIType.STRING),
                    },
                ),
            ),
        },
        additional_properties=True,
        examples=[PROBLEM_EXAMPLE],
    )


def operation_id(handler: HTTPRouteHandler, *_: Any) -> str:
    """One scheme: the handler's name in lowerCamelCase (`place_order` → `placeOrder`)."""
    head, *rest = handler.handler_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def components() -> Components:
    return Components(
        security_schemes={SECURITY_SCHEME: SecurityScheme(type="http", scheme="bearer")},
        headers={
            CORRELATION_HEADER: OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING),
                description="The request's correlation id: the caller's when it is sane "
                "(1-200 of `A-Za-z0-9._:/-`), a new UUID otherwise.",
                required=True,
            )
        },
    )


def tell_the_truth(app: Litestar) -> None:
    """Amend the app's document in place (Litestar built it from the handlers and keeps it)."""
    document = app.openapi_schema
    assert isinstance(document.components, Components)
    schemas = document.components.schemas
    schemas["ProblemDetails"] = problem_details_schema()
    _close_strict_bodies(schemas)
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = document.paths.get(route.path_format) if document.paths else None
        if item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if operation is not None:
                    _amend(operation, handler, method)


def _structs(root: type[msgspec.Struct] = msgspec.Struct) -> Any:
    for sub in root.__subclasses__():
        yield sub
        yield from _structs(sub)


def _close_strict_bodies(schemas: dict[str, Schema]) -> None:
    """A body that refuses unknown members (`forbid_unknown_fields`) says so in its schema."""
    for struct in _structs():
        schema = schemas.get(struct.__name__)
        if isinstance(schema, Schema) and struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False


def _amend(operation: Operation, handler: HTTPRouteHandler, method: Method) -> None:
    opts = handler.opt
    public = bool(opts.get(PUBLIC))
    if public:
        operation.security = []
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    names = {p.name for p in parameters}
    for p in parameters:
        if p.name == "Idempotency-Key":  # as `CommandRunner` checks it
            p.required = bool(opts.get(IDEMPOTENCY_REQUIRED))
            p.schema = Schema(
                type=OpenAPIType.STRING,
                pattern=IDEMPOTENCY_KEY_PATTERN,
                description="1-200 printable ASCII characters, new for each new request",
            )
    responses = operation.responses or {}
    # Litestar's own 400 has a shape the server never sends; a route that answers 400 gets the
    # problem shape below instead.
    responses.pop("400", None)
    for status in sorted(_problems(operation, method, public, names, opts)):
        responses[str(status)] = _problem_response(status)
    for code, response in responses.items():
        if isinstance(response, OpenAPIResponse):
            headers = response.headers if response.headers is not None else {}
            # The HTTP server's own plain-text 400 comes before the app: no correlation id.
            headers[CORRELATION_HEADER] = _CORRELATION if code != "400" else _MAYBE_CORRELATION
            if code.startswith("2"):
                headers.update(_success_headers(operation, names))
                _example(response, operation)
                _links(response, operation)
            response.headers = headers
    operation.responses = responses
    request = REQUEST_EXAMPLES.get(operation.operation_id or "")
    body = operation.request_body
    if request is not None and isinstance(body, RequestBody):
        for media in body.content.values():
            media.examples = {"example": Example(summary=request[0], value=request[1])}


def _problems(
    operation: Operation, method: str, public: bool, names: set[str], opts: dict[str, Any]
) -> set[int]:
    """The refusals a route's shape implies; anything else it answers is in its `opt`."""
    parameters = operation.parameters or []
    # 400: also the HTTP server's own plain-text answer to a request that is not valid HTTP (a NUL
    # in a header); 429: per key, or per address on public routes.
    statuses = {400, 429}
    if not public:
        statuses |= {401, 403, 503}
    if any(isinstance(p, Parameter) and p.param_in == "path" for p in parameters):
        statuses |= {404, 422}
    if any(isinstance(p, Parameter) and p.param_in == "query" for p in parameters):
        statuses.add(422)
    if names & {"cursor", "after"}:
        statuses.add(400)
    if operation.request_body is not None:
        statuses |= {400, 413, 422}
    if method in _WRITES and not public:
        statuses |= {409, 422}  # a state or a policy refuses the command
    if "If-Match" in names:
        statuses |= {400, 412}
    if "Idempotency-Key" in names:
        statuses |= {400, 409, 422}
    return statuses | set(opts.get(EXTRA_PROBLEMS, ()))


def _problem_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] = {}
    if status in (429, 503):
        headers["Retry-After"] = _RETRY_AFTER
    content = {
        PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ProblemDetails"))
    }
    if status == 400:
        content["text/plain"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
    return OpenAPIResponse(
        description=_DESCRIPTIONS.get(status, "A refusal"), headers=headers, content=content
    )


def _success_headers(operation: Operation, names: set[str]) -> dict[str, OpenAPIHeader]:
    headers: dict[str, OpenAPIHeader] = {}
    runs_a_command = "Idempotency-Key" in names  # through `CommandRunner`, its answer rendered
    if runs_a_command or operation.operation_id == "getOrder":
        headers["ETag"] = OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, pattern=r'^"[0-9]+"$'),
            description="The order's version, for `If-Match`.",
            required=True,
        )
    if runs_a_command:
        headers["Location"] = OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING),
            description="Where to read the order (or return) this answer shows.",
            required=True,
        )
        headers["Idempotent-Replayed"] = OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
            description="Present when this is the stored answer to an earlier request with the "
            "same `Idempotency-Key` and body: the command did not run again.",
        )
    return headers


def _links(response: OpenAPIResponse, operation: Operation) -> None:
    leads = LINKS.get(operation.operation_id or "")
    if leads:
        response.links = {
            name: Link(operation_id=target, parameters=dict(parameters))
            for name, (target, parameters) in leads.items()
        }


def _example(response: OpenAPIResponse, operation: Operation) -> None:
    example = RESPONSE_EXAMPLES.get(operation.operation_id or "")
    if example is None or not response.content:
        return
    for media in response.content.values():
        media.examples = {"example": Example(summary=example[0], value=example[1])}
