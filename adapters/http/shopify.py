"""The commerce port on the Shopify Admin REST API: fulfillments, cancellations, order notes."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import Any

import httpx

from adapters.http.client import RemoteClient
from adapters.http.errors import describe, detail, json_body
from adapters.http.resilience import CircuitBreaker, RetryPolicy
from ports.commerce import CommerceStatus
from ports.remote import RemoteRejected, RemoteUnavailable

logger = logging.getLogger(__name__)

SYSTEM = "Shopify"
API_VERSION = "2025-01"
#: fulfillment-order states that still take a fulfillment
FULFILLABLE = frozenset({"open", "in_progress"})
#: the order attributes (note_attributes) that carry the hub's view of the order
STATUS_ATTRIBUTE = "orderhub_status"
NOTE_ATTRIBUTE = "orderhub_note"
TRACKING_ATTRIBUTE = "orderhub_tracking"
#: our tags are `orderhub-<status>`; a newer status replaces the older tag
TAG_PREFIX = "orderhub-"
_ORDER_ID = re.compile(r"(?:gid://shopify/Order/)?(\d+)")


class ShopifyCommerce:
    """Tells a Shopify shop what happened to one of its orders, once per change.

    `channel_order_ref` is the Shopify order id. "shipped" creates a fulfillment of everything
    still open, with the tracking number and carrier, per fulfillment location; "cancelled"
    cancels the order; every other status (including "partially_shipped", since the update does
    not say which lines shipped) is written as the `orderhub_status`, `orderhub_note` and
    `orderhub_tracking` order attributes and an `orderhub-<status>` tag. Shopify's REST API
    takes no idempotency key, so each operation reads first and writes only what is missing: a
    location that already has a fulfillment with this tracking number, an order already
    cancelled, attributes already set are left alone, and a repeated push changes nothing.
    429 (with Shopify's `Retry-After`), 5xx, timeouts and an open circuit raise
    `RemoteUnavailable`; any other refusal raises `RemoteRejected`. See docs/commerce-shopify.md.
    """

    def __init__(
        self,
        *,
        shop_url: str,
        access_token: str,
        api_version: str = API_VERSION,
        notify_customer: bool = True,
        timeout: float | httpx.Timeout = 10.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = f"/admin/api/{api_version}"
        self._notify_customer = notify_customer
        self._http = RemoteClient(
            SYSTEM,
            base_url=shop_url.rstrip("/"),
            headers={"X-Shopify-Access-Token": access_token},
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            breaker=breaker,
            transport=transport,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        return self._http.breaker

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        # The key is not sent: Shopify's REST endpoints take none. Each operation checks the
        # order's state instead, which also covers changes a person made in the Shopify admin.
        order_id = shopify_order_id(update.channel_order_ref)
        operation: Callable[[], Awaitable[None]]
        if update.status == "shipped":
            operation = partial(self._fulfil, order_id, update)
        elif update.status == "cancelled":
            operation = partial(self._cancel, order_id)
        else:
            operation = partial(self._annotate, order_id, update)
        await self._http.run(operation)

    async def _fulfil(self, order_id: str, update: CommerceStatus) -> None:
        fulfillments = await self._get(f"/orders/{order_id}/fulfillments.json", "fulfillments")
        orders = await self._get(
            f"/orders/{order_id}/fulfillment_orders.json", "fulfillment_orders"
        )
        open_orders = open_fulfillment_orders(orders)
        if not open_orders:
            # Fulfilled already: by an earlier push whose reply was lost, or by hand in the admin.
            logger.info("Shopify order %s has nothing left to fulfil", order_id)
        for location, fulfillment_orders in open_orders.items():
            if update.tracking_number and already_tracked(
                fulfillments, location, update.tracking_number
            ):
                continue
            body: dict[str, Any] = {
                "line_items_by_fulfillment_order": [
                    {"fulfillment_order_id": fo["id"]} for fo in fulfillment_orders
                ],
                "notify_customer": self._notify_customer,
            }
            if update.tracking_number:
                body["tracking_info"] = {
                    "number": update.tracking_number,
                    "company": update.carrier,
                }
            await self._http.send(
                "POST",
                f"{self._api}/fulfillments.json",
                json={"fulfillment": body},
                expect=(200, 201),
            )

    async def _cancel(self, order_id: str) -> None:
        if await self._cancelled(order_id):
            return
        response = await self._http.send(
            "POST",
            f"{self._api}/orders/{order_id}/cancel.json",
            json={"reason": "other", "email": self._notify_customer},
            expect=(200, 422),
        )
        # 422 after our check: someone may have cancelled it in between, which is what we want.
        if response.status_code == 422 and not await self._cancelled(order_id):
            raise RemoteRejected(
                f"Shopify refused {describe(response.request)}: {detail(response)}"
            )

    async def _cancelled(self, order_id: str) -> bool:
        order = await self._get(f"/orders/{order_id}.json", "order", fields="id,cancelled_at")
        return bool(order.get("cancelled_at"))

    async def _annotate(self, order_id: str, update: CommerceStatus) -> None:
        order = await self._get(
            f"/orders/{order_id}.json", "order", fields="id,note_attributes,tags"
        )
        attributes = annotated(order.get("note_attributes") or [], update)
        tags = retagged(order.get("tags") or "", update.status)
        if _pairs(attributes) == _pairs(order.get("note_attributes") or []) and _tag_set(
            tags
        ) == _tag_set(order.get("tags") or ""):
            return  # already says so: a repeated push writes nothing
        change = {"id": int(order_id), "note_attributes": attributes, "tags": tags}
        await self._http.send(
            "PUT", f"{self._api}/orders/{order_id}.json", json={"order": change}, expect=(200,)
        )

    async def _get(self, path: str, key: str, *, fields: str | None = None) -> Any:
        params = {"fields": fields} if fields else {"limit": "250"}
        response = await self._http.send("GET", self._api + path, params=params, expect=(200,))
        body = json_body(response, SYSTEM)
        if not isinstance(body, dict) or key not in body:
            raise RemoteUnavailable(f"Shopify answer to {describe(response.request)} without {key}")
        return body[key]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ShopifyCommerce:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def shopify_order_id(channel_order_ref: str) -> str:
    """The numeric order id from `12345` or `gid://shopify/Order/12345`."""
    match = _ORDER_ID.fullmatch(channel_order_ref.strip())
    if match is None:
        raise RemoteRejected(f"{channel_order_ref!r} is not a Shopify order id")
    return match.group(1)


def open_fulfillment_orders(orders: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """The fulfillment orders that can still be fulfilled, by assigned location: Shopify takes
    the fulfillment orders of one location per fulfillment."""
    by_location: dict[Any, list[dict[str, Any]]] = {}
    for fo in orders:
        actions = fo.get("supported_actions")
        if fo.get("status") not in FULFILLABLE or (
            actions is not None and "create_fulfillment" not in actions
        ):
            continue
        if any(item.get("fulfillable_quantity", 0) > 0 for item in fo.get("line_items") or []):
            by_location.setdefault(fo.get("assigned_location_id"), []).append(fo)
    return by_location


def already_tracked(fulfillments: list[dict[str, Any]], location: Any, number: str) -> bool:
    """Whether a live fulfillment at `location` already carries tracking number `number`."""
    return any(
        f.get("status") not in {"cancelled", "error", "failure"}
        and f.get("location_id") in {location, None}
        and number in {f.get("tracking_number"), *(f.get("tracking_numbers") or [])}
        for f in fulfillments
    )


def annotated(attributes: list[dict[str, Any]], update: CommerceStatus) -> list[dict[str, Any]]:
    """The order's attributes with ours set to this update; everybody else's kept as they are."""
    ours = {STATUS_ATTRIBUTE: update.status}
    if update.note:
        ours[NOTE_ATTRIBUTE] = update.note
    if update.tracking_number:
        carrier = f"{update.carrier} " if update.carrier else ""
        ours[TRACKING_ATTRIBUTE] = f"{carrier}{update.tracking_number}"
    kept = [a for a in attributes if a.get("name") not in ours]
    return kept + [{"name": name, "value": value} for name, value in ours.items()]


def retagged(tags: str, status: str) -> str:
    """The order's tags with our one status tag replaced; Shopify keeps tags as one string."""
    kept = [tag for tag in _tag_list(tags) if not tag.startswith(TAG_PREFIX)]
    return ", ".join([*kept, f"{TAG_PREFIX}{status}"])


def _tag_list(tags: str) -> list[str]:
    return [tag.strip() for tag in tags.split(",") if tag.strip()]


def _tag_set(tags: str) -> frozenset[str]:
    # Shopify re-sorts tags, so compare them as a set.
    return frozenset(_tag_list(tags))


def _pairs(attributes: list[dict[str, Any]]) -> frozenset[tuple[Any, Any]]:
    return frozenset((a.get("name"), a.get("value")) for a in attributes)
