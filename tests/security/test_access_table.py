"""Who may call what: every route of the app against every kind of caller, in one table.

The table is derived from PRODUCT.md §5 and the route guards (`entrypoints/http/auth.py`,
`roles(...)` on each handler). The test enumerates the app's routes at run time and fails when a
route has no row, so a new endpoint must come with its access rules.

Outcome classes:
- `UNAUTH`: 401, no key or a key the hub does not know;
- `DENIED`: 403, a role the route does not admit;
- `SOURCE`: 403 `source_not_allowed`, a system key sending as a back-office system it is not
  bound to;
- `HIDDEN`: 404 `order_not_found` / `return_not_found` for another channel's order or return,
  exactly as for one that never existed (existence is not revealed);
- `OK`: admitted: a 2xx, or any 4xx that is not one of the three above (a 409 for a transition
  the order's state does not allow, a 422 for a return beyond what is returnable, a 404 for a
  dead letter that does not exist); never a 5xx;
- `SIGNED`: the Shopify webhook answers 401 `invalid_signature` to an unsigned body whatever
  `Authorization` says (it is authenticated by its HMAC, not by a key);
- `SIGN_IN`: a console page that redirects to the sign-in form (303 to /console): a bearer key
  is no console session.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from entrypoints.http.app import create_app
from tests.integration.http.conftest import Api
from tests.integration.http.requests import SKU, order_body, return_body, snapshot
from tests.security.conftest import owned_order_with_return

UNAUTH, DENIED, HIDDEN, OK, SIGNED, SIGN_IN = "401", "403", "404", "ok", "signed", "sign-in"
SOURCE = "403 source_not_allowed"

#: The callers, in the order of the table's columns. `web` owns the order and its return;
#: `pos` is another channel; `system` is a system key bound to every back-office source, `erp` one
#: bound to the ERP only (the inbound row posts as the warehouse).
CALLERS = ("none", "bad", "web", "pos", "agent", "system", "erp", "ops")
#: Routes without a key: the same outcome for every caller.
PUBLIC = (OK,) * len(CALLERS)

# fmt: off
#: (method, route path as the app declares it) → (request body, outcome per caller in CALLERS).
ACCESS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    #                                                          none    bad     web  pos     agent  system  erp     ops
    # -- commands (channel for its own orders, agent) --
    ("POST", "/v1/orders"):                                 ("order",   (UNAUTH, UNAUTH, OK, OK, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/amend"):           ("amend",   (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/cancel"):          ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/hold"):            ("hold",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/resume"):          ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    # linking a CRM case is an agent's act (PRODUCT.md §8.8): a channel may not pick the CRM
    # cases the hub writes to (a return naming a `case_id` is refused likewise: test_case_links)
    ("POST", "/v1/orders/{order_id:uuid}/case"):            ("case",    (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/cancel-remaining"): ("hold", (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    # an appeasement is an agent's refund (PRODUCT.md §8.6)
    ("POST", "/v1/orders/{order_id:uuid}/refunds"):         ("refund",  (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/notes"):           ("note",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/orders/{order_id:uuid}/returns"):         ("return",  (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/returns/{return_id:uuid}/cancel"):        ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, DENIED)),
    # an agent's decisions on a return the policy left `requested` (PRODUCT.md §8.4)
    ("POST", "/v1/returns/{return_id:uuid}/accept-credit-memo"): ("none", (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/returns/{return_id:uuid}/authorize"):     ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    ("POST", "/v1/returns/{return_id:uuid}/reject"):        ("hold",    (UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED, DENIED, DENIED)),
    # -- queries (agent; channel for its own). The code also admits ops keys (PRODUCT.md §5
    #    names only agent and channel keys for queries).
    ("GET", "/v1/orders"):                                  ("none",    (UNAUTH, UNAUTH, OK, OK, OK, DENIED, DENIED, OK)),
    ("GET", "/v1/orders/{order_id:uuid}"):                  ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, OK)),
    ("GET", "/v1/orders/{order_id:uuid}/timeline"):         ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, OK)),
    ("GET", "/v1/returns/{return_id:uuid}"):                ("none",    (UNAUTH, UNAUTH, OK, HIDDEN, OK, DENIED, DENIED, OK)),
    ("GET", "/v1/inventory/{sku:path}"):                    ("none",    (UNAUTH, UNAUTH, OK, OK, OK, DENIED, DENIED, OK)),
    # -- inbound back-office events (system keys, each as the sources it is bound to; the row
    #    posts as the warehouse) --
    ("POST", "/v1/inbound/{source:str}"):                   ("inbound", (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, OK, SOURCE, DENIED)),
    # -- operations (ops) --
    ("GET", "/v1/ops/stuck"):                               ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    # the event feed: a channel reads its own orders' events, ops all (PRODUCT.md §8.5)
    ("GET", "/v1/events"):                                  ("none",    (UNAUTH, UNAUTH, OK, OK, DENIED, DENIED, DENIED, OK)),
    # webhook subscriptions are an operator's to make, list, delete and replay (PRODUCT.md §8.5)
    ("POST", "/v1/webhook-subscriptions"):                  ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("GET", "/v1/webhook-subscriptions"):                   ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("DELETE", "/v1/webhook-subscriptions/{subscription_id:uuid}"): ("none", (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("POST", "/v1/webhook-subscriptions/{subscription_id:uuid}/replay"): ("none", (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("GET", "/v1/ops/outbox"):                              ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("GET", "/v1/ops/remotes"):                             ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("GET", "/v1/ops/dead-letters"):                        ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("POST", "/v1/ops/dead-letters/replay"):                ("replay",  (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("POST", "/v1/ops/dead-letters/{dead_letter_id:uuid}/replay"): ("none", (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    ("POST", "/v1/ops/projections/rebuild"):                ("none",    (UNAUTH, UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, OK)),
    # -- commerce webhook: HMAC of the raw body, never an API key --
    ("POST", "/v1/webhooks/shopify/orders-create"):         ("webhook", (SIGNED,) * len(CALLERS)),
    ("POST", "/v1/webhooks/shopify/orders-cancelled"):      ("webhook", (SIGNED,) * len(CALLERS)),
    ("POST", "/v1/webhooks/shopify/refunds-create"):        ("webhook", (SIGNED,) * len(CALLERS)),
    # -- unauthenticated --
    ("GET", "/health/live"):                                ("none", PUBLIC),
    ("GET", "/health/ready"):                               ("none", PUBLIC),
    ("GET", "/metrics"):                                    ("none", PUBLIC),
    ("GET", "/schema"):                                     ("none", PUBLIC),
    ("GET", "/schema/openapi.json"):                        ("none", PUBLIC),
    ("GET", "/schema/{path:str}"):                          ("none", PUBLIC),
    ("GET", "/schema/assets/{file_path:path}"):             ("none", PUBLIC),  # the docs viewer
    ("HEAD", "/schema/assets/{file_path:path}"):            ("none", PUBLIC),
    # -- agent console: its own sign-in (an agent or ops key in a form, then a session cookie);
    #    a bearer key signs nobody in --
    ("GET", "/console"):                                    ("none", PUBLIC),  # the sign-in form
    ("GET", "/console/static/{file_path:path}"):            ("none", PUBLIC),
    ("HEAD", "/console/static/{file_path:path}"):           ("none", PUBLIC),
    ("GET", "/console/login"):                              ("none", (SIGN_IN,) * len(CALLERS)),
    ("POST", "/console/login"):                             ("none", (UNAUTH,) * len(CALLERS)),  # no key in the form
    ("POST", "/console/logout"):                            ("none", (SIGN_IN,) * len(CALLERS)),
    ("GET", "/console/orders"):                             ("none", (SIGN_IN,) * len(CALLERS)),
    ("GET", "/console/orders/{order_id:str}"):              ("none", (SIGN_IN,) * len(CALLERS)),
    ("POST", "/console/orders/{order_id:uuid}/{name:str}"): ("none", (SIGN_IN,) * len(CALLERS)),
    ("POST", "/console/orders/{order_id:uuid}/returns/{return_id:uuid}/{name:str}"): ("none", (SIGN_IN,) * len(CALLERS)),
    # the operations page: ops sessions only (an agent session gets a 403 page)
    ("GET", "/console/ops"):                                ("none", (SIGN_IN,) * len(CALLERS)),
    ("POST", "/console/ops/dead-letters/replay"):           ("none", (SIGN_IN,) * len(CALLERS)),
    ("POST", "/console/ops/dead-letters/{dead_letter_id:uuid}/replay"): ("none", (SIGN_IN,) * len(CALLERS)),
}
# fmt: on

#: Isolation answers: another channel's order or return is simply not found.
NOT_FOUND_CODES = {"order_not_found", "return_not_found"}
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def app_routes(api: Api) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, less the OPTIONS handlers Litestar adds by itself."""
    app = create_app(api.container)
    return {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method != "OPTIONS"
    }


def body_for(kind: str, who: str) -> dict[str, Any]:
    """The request: a body valid for the route, so that only access decides the outcome."""
    if kind == "none":
        return {}
    if kind == "webhook":  # Shopify-like JSON without a signature
        raw = json.dumps({"id": 1, "line_items": []}).encode()
        return {"content": raw, "headers": {"Content-Type": "application/json"}}
    bodies: dict[str, Any] = {
        "order": order_body(**({} if who in ("web", "pos") else {"channel": "web"})),
        "amend": {"lines": [{"sku": SKU, "quantity": 1}]},
        "hold": {"reason": "fraud check"},
        "note": {"text": "customer called"},
        "refund": {"amount": "1.00", "reason": "parcel arrived late"},
        "case": {"case_id": "500000000000001"},
        "return": return_body(),
        "inbound": snapshot(on_hand=100),
        "replay": {"consumer": "erp", "error_contains": "timeout"},
    }
    return {"json": bodies[kind]}


def headers_for(api: Api, who: str) -> dict[str, str]:
    if who == "none":
        auth = {}
    elif who == "bad":
        auth = {"Authorization": "Bearer ohk_not-a-key-this-hub-issued-000000000000000"}
    else:
        auth = api.auth(who)
    return {**auth, "Idempotency-Key": str(uuid.uuid4())}


def classify(response: httpx.Response) -> str:
    """The outcome class of an answer (see the module docstring)."""
    status = response.status_code
    is_problem = response.headers.get("content-type", "").startswith("application/problem")
    # A HEAD answer carries no body, a refusal's neither.
    code = response.json().get("code") if is_problem and response.content else None
    if status == 303 and response.headers.get("location") == "/console":
        return SIGN_IN
    if status == 401:
        return SIGNED if code == "invalid_signature" else UNAUTH
    if status == 404 and code in NOT_FOUND_CODES:
        return HIDDEN
    if status >= 500:
        return f"server error {status}"
    if status == 403:
        return SOURCE if code == "source_not_allowed" else DENIED
    return OK


async def test_every_route_admits_exactly_the_callers_the_table_names(secured: Api) -> None:
    api = secured
    routes = app_routes(api)
    assert routes - ACCESS.keys() == set(), "routes without a row in ACCESS: add their rules"
    assert ACCESS.keys() - routes == set(), "rows in ACCESS for routes the app no longer has"

    owned = await owned_order_with_return(api)
    values = {
        "order_id": owned.order_id,
        "return_id": owned.return_id,
        "sku": SKU,
        "source": "warehouse",
        "dead_letter_id": str(uuid.uuid4()),
        "subscription_id": str(uuid.uuid4()),
        "file_path": "console.css",
        "path": "nothing-here",
        "name": "hold",
    }
    missing = {"order_id": str(uuid.uuid4()), "return_id": str(uuid.uuid4())}

    wrong: list[str] = []
    calls = 0
    for (method, route), (kind, outcomes) in sorted(ACCESS.items()):
        url = _PARAMETER.sub(lambda m: values[m.group(1)], route)
        for who, expected in zip(CALLERS, outcomes, strict=True):
            api.client.cookies.clear()  # no console session carried between calls
            response = await api.client.request(
                method, url, **_merge(body_for(kind, who), headers_for(api, who))
            )
            calls += 1
            got = classify(response)
            if got != expected:
                wrong.append(
                    f"{method} {route} as {who}: expected {expected}, got {got} "
                    f"({response.status_code} {response.text[:200]})"
                )
            elif expected == HIDDEN:
                # Another channel's order answers exactly as one that never existed.
                ghost = _PARAMETER.sub(lambda m: missing.get(m.group(1), values[m.group(1)]), route)
                absent = await api.client.request(
                    method, ghost, **_merge(body_for(kind, who), headers_for(api, who))
                )
                leaked = response.text.replace(owned.order_id, "ID").replace(owned.return_id, "ID")
                unknown = absent.text
                for ghost_id in missing.values():
                    unknown = unknown.replace(ghost_id, "ID")
                if (absent.status_code, unknown) != (response.status_code, leaked):
                    wrong.append(
                        f"{method} {route} as {who}: another channel's answer differs from an "
                        f"unknown id's: {response.status_code} {leaked[:200]} vs "
                        f"{absent.status_code} {unknown[:200]}"
                    )
    print(f"\naccess table: {len(ACCESS)} routes x {len(CALLERS)} callers, {calls} calls")
    assert wrong == [], "\n".join(wrong)


def _merge(request: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return {**request, "headers": {**request.get("headers", {}), **headers}}
