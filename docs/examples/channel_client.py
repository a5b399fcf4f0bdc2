"""A channel's client for orderhub, hand-written with httpx (docs/channel-client.md explains it).

It places an order with an idempotency key (a retry after a timeout gets the first answer back,
never a second order), reads it with its `ETag`, amends it with `If-Match` (a stale version is
refused with 412 instead of overwriting a change made meanwhile), follows the event feed from a
cursor it keeps, and turns every refusal (RFC 9457 `application/problem+json`) into a `Problem`
whose stable `code` the caller branches on. Copy it, or read it as a walkthrough of the API.

    python docs/examples/channel_client.py --hub http://127.0.0.1:8000 --key "$CHANNEL_KEY"
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """A refusal from orderhub: `code` is stable (branch on it), `detail` is for people."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('code')}: {body.get('detail')}")
        self.status = status
        self.code: str = body.get("code", "error")
        self.detail: str = body.get("detail", "")
        self.errors: list[dict[str, str]] = body.get("errors", [])  # field validation
        self.body = body


class Orderhub:
    """One channel key's view of the hub."""

    def __init__(self, base_url: str, key: str, *, attempts: int = 4) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        self.attempts = attempts

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, waiting out 429 and 503 as `Retry-After` says (a few times); raise `Problem`
        for any other refusal. Only safe to repeat: reads, and commands with an idempotency key."""
        for attempt in range(self.attempts):
            response = self.http.request(method, path, **kwargs)
            if response.status_code in (429, 503) and attempt + 1 < self.attempts:
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 30))
                continue
            if response.status_code >= 400:
                is_problem = response.headers.get("content-type", "").startswith(PROBLEM_JSON)
                body = response.json() if is_problem else {"detail": response.text}
                raise Problem(response.status_code, body)
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def place_order(self, order: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Place `order`; keep `idempotency_key` with it until you have the answer, and send the
        same key again when a call times out (the answer then says `Idempotent-Replayed`)."""
        response = self._send(
            "POST", "/v1/orders", json=order, headers={"Idempotency-Key": idempotency_key}
        )
        return response.json()  # type: ignore[no-any-return]

    def get_order(self, order_id: str) -> tuple[dict[str, Any], str]:
        """The order and its `ETag` (its version), to send back as `If-Match`."""
        response = self._send("GET", f"/v1/orders/{order_id}")
        return response.json(), response.headers["ETag"]

    def amend_order(
        self, order_id: str, changes: dict[str, Any], etag: str, idempotency_key: str
    ) -> tuple[dict[str, Any], str]:
        """Amend the order as it was when read (`etag`): 412 `version_mismatch` means it changed
        meanwhile; read it again and decide again."""
        response = self._send(
            "POST",
            f"/v1/orders/{order_id}/amend",
            json=changes,
            headers={"If-Match": etag, "Idempotency-Key": idempotency_key},
        )
        return response.json(), response.headers["ETag"]

    def amend_current(
        self, order_id: str, changes: dict[str, Any], tries: int = 3
    ) -> tuple[dict[str, Any], str]:
        """Read, amend on what was read; when the order moved on meanwhile (the hub works on it
        too: reservations, booking, shipments), read it again and try again, a few times."""
        for attempt in range(tries):
            _, etag = self.get_order(order_id)
            try:
                return self.amend_order(order_id, changes, etag, str(uuid.uuid4()))
            except Problem as problem:
                if problem.code != "version_mismatch" or attempt + 1 == tries:
                    raise
        raise AssertionError("unreachable: the last try returns or raises")

    def events(self, after: str | None, types: str | None = None) -> tuple[list[Any], str]:
        """One page of the feed after the cursor `after` (from the start when None), and the
        cursor to resume from: store it with what you did with the page."""
        params = {"limit": 100, **({"after": after} if after else {}), **({"types": types} if types else {})}  # fmt: skip
        page = self._send("GET", "/v1/events", params=params).json()
        return page["items"], page["next_cursor"]

    def follow(self, cursor: str | None) -> Iterator[tuple[dict[str, Any], str]]:
        """Every event after `cursor` until the feed is caught up, each with the cursor of the page
        it came in (resume from it after a crash: events are delivered at least once)."""
        while True:
            items, cursor = self.events(cursor)
            for item in items:
                yield item, cursor
            if not items:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="a channel key (orderhub keys create)")
    parser.add_argument("--sku", default="SKU-RED-M")
    args = parser.parse_args()
    hub = Orderhub(args.hub, args.key)
    order = {
        "channel_order_ref": f"EX-{uuid.uuid4().hex[:8]}",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "shipping_address": {"name": "Ada Lovelace", "line1": "12 Analytical Row",
                             "city": "London", "postal_code": "N1 9GU", "country": "GB"},
        "currency": "EUR",
        "lines": [{"sku": args.sku, "quantity": 2, "unit_price": "19.99"}],
        "payment": {"reference": "psp-ex-1", "amount": "39.98"},
        "allow_backorder": True,
    }  # fmt: skip
    try:
        placed = hub.place_order(order, idempotency_key=str(uuid.uuid4()))
        print("placed", placed["id"], placed["status"])
        amended, etag = hub.amend_current(
            placed["id"], {"lines": [{"sku": args.sku, "quantity": 1}]}
        )
        print("amended to version", etag, "total", amended["total"])
        for event, _cursor in hub.follow(None):
            print(event["event_type"], event["aggregate_id"])
    except Problem as problem:
        print("refused:", problem.code, problem.detail, problem.errors)
    finally:
        hub.close()


if __name__ == "__main__":
    main()
