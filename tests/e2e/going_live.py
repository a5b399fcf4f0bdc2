"""Issue 14's "done when", tried as a new user would: the hub's API, relay and worker processes on
PostgreSQL and Redis, with `PAYMENT_PROVIDER=stripe` pointed at a fake Stripe,
`COMMERCE_ROUTES=shopify=shopify,web=none` with the Shopify adapter pointed at a fake shop, and
the REST ERP pointed at a fake ERP. A Shopify order (signed `orders-create` webhook) and two web
orders (`POST /v1/orders`, one in EUR, one in JPY) each run place → book → ship → deliver →
return → refund over plain HTTP, and the run prints a transcript: the commands and requests, the
hub's key answers, what the fake Stripe and the fake Shopify saw, and the dead letters.

    .venv/bin/python -m tests.e2e.going_live

Needs PostgreSQL on 127.0.0.1:5432 (it creates and drops a database of its own) and Redis on
127.0.0.1:6379 (database 13, flushed). `tests/e2e/test_going_live.py` runs it and checks the
figures; docs/going-live-transcript.md is the transcript of one run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from tests.e2e.processes import ORDERHUB, Hub, wait_for
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.fake_shopify import FakeShopify
from tests.integration.adapters.fake_stripe import SECRET_KEY, FakeStripe, running
from tests.integration.adapters.live_server import live_server
from tests.integration.databases import PG_HOST, PG_PORT, PG_USER, pg_url

#: The broker's Redis database (e2e tests use 10 and 11, the fault suite 12, benchmarks 8).
BROKER_URL = os.environ.get("ORDERHUB_GOING_LIVE_BROKER_URL", "redis://127.0.0.1:6379/13")
ERP_KEY = "erp-key"
WEBHOOK_SECRET = "shpss_going_live"
#: How long any one step may take before the run gives up (a whole run takes 30–60 s; the
#: deadline is generous because the 2-core machine is shared with other test runs).
STEP_TIMEOUT = 60.0
LOCATION = "dc-east"
#: The Shopify order's id in the (fake) shop, and its location there.
SHOPIFY_ORDER_ID = 5_600_000_001_001
_SKIP = re.compile(
    r"commerce push skipped: channel (\S+) routes to none \(status (\S+), order (\S+)\)"
)


@dataclass
class Line:
    sku: str
    quantity: int
    unit_price: str  # a decimal string in the order's currency


@dataclass
class Planned:
    """One order the run drives end to end, and what it expects the fake Stripe to see."""

    label: str
    channel: str
    ref: str
    currency: str
    lines: list[Line]
    returned: Line  # the line (sku, quantity) the customer sends back
    capture_minor: int
    refund_minor: int
    intent: str = ""
    order_id: str = ""
    return_id: str = ""
    rma_number: str = ""
    final_order: dict[str, Any] = field(default_factory=dict)
    final_return: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> str:
        minor = self.capture_minor
        return str(minor) if self.currency == "JPY" else f"{minor // 100}.{minor % 100:02d}"


def planned_orders() -> list[Planned]:
    return [
        Planned(
            label="shopify", channel="shopify", ref=str(SHOPIFY_ORDER_ID), currency="EUR",
            lines=[Line("MUG-BLUE", 2, "19.99")], returned=Line("MUG-BLUE", 1, "19.99"),
            capture_minor=3998, refund_minor=1999,
        ),
        Planned(
            label="web EUR", channel="web", ref="WEB-1001", currency="EUR",
            lines=[Line("TEE-M", 3, "12.49"), Line("SOCKS-3", 1, "7.05")],
            returned=Line("TEE-M", 2, "12.49"), capture_minor=4452, refund_minor=2498,
        ),
        Planned(
            label="web JPY", channel="web", ref="WEB-1002", currency="JPY",
            lines=[Line("TEA-TIN", 2, "1480")], returned=Line("TEA-TIN", 1, "1480"),
            capture_minor=2960, refund_minor=1480,
        ),
    ]  # fmt: skip


@dataclass
class Outcome:
    """What the run saw, for tests/e2e/test_going_live.py."""

    orders: list[Planned]
    #: (kind, intent, amount in minor units, currency, the Idempotency-Keys of its requests)
    movements: list[tuple[str, str, int, str, list[str]]]
    #: every request the fake Shopify received, "METHOD /path"
    shopify_heard: list[str]
    #: the Shopify order ids those requests were about (fulfillments resolved to their order)
    shopify_orders: set[int]
    #: the `orderhub_status` each order update wrote, and the tracking number of each fulfillment
    shopify_statuses: list[str]
    shopify_tracking: list[str]
    #: (channel, status, channel order ref) of each push the router skipped, from the worker log
    skipped: list[tuple[str, str, str]]
    dead_letters: list[dict[str, Any]]
    tracebacks: dict[str, int]
    transcript: list[str]


class Transcript:
    """The lines a new user would type and see, printed as they happen and kept."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.lines: list[str] = []
        self._out = out

    def say(self, text: str = "") -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(line)
            self._out(line)

    def comment(self, text: str) -> None:
        self.say(f"# {text}")

    def command(self, text: str) -> None:
        self.say(f"$ {text}")


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pick(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: body.get(name) for name in names}


class Client:
    """Plain HTTP to the hub, each request echoed as a curl line and its answer as `→ status …`."""

    def __init__(self, url: str, keys: dict[str, str], transcript: Transcript) -> None:
        self._http = httpx.Client(base_url=url, timeout=10)
        self._keys = keys
        self._t = transcript

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        shown_body: str | None = None,
        shown_headers: dict[str, str] | None = None,
        echo: bool = True,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {self._keys[key]}"
        if echo:
            parts = ["curl -s"] + ([f"-X {method}"] if method != "GET" else []) + [f"$HUB{path}"]
            if key is not None:
                parts.append(f'-H "Authorization: Bearer ${key.upper()}"')
            echoed = shown_headers or headers or {}
            parts += [f'-H "{name}: {value}"' for name, value in echoed.items()]
            if raw is not None:
                parts.append(f"--data-binary {shown_body}")
            elif body is not None:
                parts.append(f"-H 'Content-Type: application/json' -d {shlex.quote(compact(body))}")
            self._t.command(" ".join(parts))
        if raw is not None:
            return self._http.request(method, path, headers=sent, content=raw)
        return self._http.request(method, path, headers=sent, json=body)

    def answer(self, response: httpx.Response, *names: str) -> dict[str, Any]:
        """Print the status and the named fields of the answer (all of it when none named)."""
        body = response.json() if response.content else {}
        shown = pick(body, *names) if names and isinstance(body, dict) else body
        self._t.say(f"→ {response.status_code} {compact(shown)}")
        return body

    def get(self, path: str, key: str) -> dict[str, Any]:
        response = self.request("GET", path, key, echo=False)
        response.raise_for_status()
        return response.json()


def run(out: Callable[[str], None] = print) -> Outcome:
    """Set everything up on loopback, drive the orders, tear everything down; the outcome."""
    transcript = Transcript(out)
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    with ExitStack() as stack:
        kept = os.environ.get("ORDERHUB_GOING_LIVE_LOGS")  # a directory that keeps the logs
        log_dir = (
            Path(kept)
            if kept
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="going-live-")))
        )
        log_dir.mkdir(parents=True, exist_ok=True)
        db_url = stack.enter_context(empty_database())
        stripe = stack.enter_context(running(FakeStripe()))
        shop, erp = FakeShopify(), FakeErp(ERP_KEY)
        shop.url = stack.enter_context(live_server(shop))
        erp.url = stack.enter_context(live_server(erp))
        env = {
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_BASE": stripe.url,
            "STRIPE_API_KEY": SECRET_KEY,
            "COMMERCE_ROUTES": "shopify=shopify,web=none",
            "COMMERCE_URL": shop.url,
            "SHOPIFY_ACCESS_TOKEN": shop.access_token,
            "SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ERP_URL": erp.url,
            "ERP_API_KEY": ERP_KEY,
        }
        hub = Hub(db_url, BROKER_URL, log_dir, **env)
        # A new user runs on the defaults: none of the test suite's shortcuts.
        for shortcut in ("ERP_GRACE_SECONDS", "DELIVERY_TIMEOUT_SECONDS"):
            hub.env.pop(shortcut, None)
        stack.callback(broker.close)
        stack.callback(broker.flushdb)
        stack.callback(hub.close)
        session = GoingLive(hub, stripe, shop, erp, transcript, env)
        try:
            return session.run()
        except BaseException:
            transcript.say("\n# the run failed; the processes' logs end with:")
            for name in hub.processes:
                transcript.say(f"--- {name}\n{hub.log(name)[-4000:]}")
            raise


class GoingLive:
    """The run itself: the user's steps in order, against one hub and its three fakes."""

    def __init__(
        self,
        hub: Hub,
        stripe: FakeStripe,
        shop: FakeShopify,
        erp: FakeErp,
        transcript: Transcript,
        env: dict[str, str],
    ) -> None:
        self.hub, self.stripe, self.shop, self.erp = hub, stripe, shop, erp
        self.t = transcript
        self.env = env
        self.orders = planned_orders()
        self.keys: dict[str, str] = {}
        self.api = Client(hub.url, self.keys, transcript)

    def run(self) -> Outcome:
        started = time.monotonic()
        try:
            self.start()
            self.stock()
            self.place()
            self.ship_and_deliver()
            self.return_and_refund()
            outcome = self.report()
        finally:
            self.api.close()
        self.t.say(f"\n# the whole run took {time.monotonic() - started:.0f} s")
        return outcome

    # -- set-up ------------------------------------------------------------------------------

    def cli(self, *args: str) -> str:
        """Run `orderhub <args>`, print it and its output; its last line."""
        return self.shown(args, self.launch(*args))

    def launch(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [ORDERHUB, *args], env=self.hub.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def shown(self, args: tuple[str, ...], process: subprocess.Popen[str]) -> str:
        stdout, stderr = process.communicate(timeout=60)
        self.t.command(f"orderhub {' '.join(args)}")
        if process.returncode != 0:
            raise RuntimeError(f"orderhub {' '.join(args)} failed:\n{stdout}{stderr}")
        lines = stdout.strip().splitlines()
        if args[:2] == ("keys", "create"):  # the key itself stays out of print
            self.t.say("\n".join([*lines[:-1], "ohk_…"]))
        else:
            self.t.say(stdout.strip())
        return lines[-1]

    def start(self) -> None:
        t = self.t
        t.comment(
            "The back office, on loopback: a fake Stripe, a fake Shopify shop, a fake REST ERP."
        )
        t.comment(
            f"fake Stripe {self.stripe.url}, fake Shopify {self.shop.url}, fake ERP {self.erp.url}"
        )
        t.comment("orderhub's settings (docs/configuration.md), shared by every process below:")
        t.command(f"export DATABASE_URL={self.hub.env['DATABASE_URL']} BROKER_URL={BROKER_URL}")
        shown = {**self.env, "STRIPE_API_KEY": "sk_test_…", "SHOPIFY_WEBHOOK_SECRET": "shpss_…"}
        for name, value in shown.items():
            t.command(f"export {name}={value}")
        t.say()
        self.cli("migrate")
        t.command(f"orderhub serve --host 127.0.0.1 --port {self.hub.port} &")
        t.command("orderhub relay &")
        t.command("orderhub worker --threads 4 &")
        self.hub.start("api", "serve", "--host", "127.0.0.1", "--port", str(self.hub.port))
        self.hub.start("relay", "relay")
        self.hub.start("worker", "worker", "--threads", "4")
        # The five commands run side by side (each start of the CLI costs seconds of CPU) and
        # are printed one after the other, as a person would type them.
        wanted = {
            "web": ("keys", "create", "--role", "channel", "--channel", "web"),
            "warehouse": ("keys", "create", "--role", "system", "--source", "warehouse"),
            "erp": ("keys", "create", "--role", "system", "--source", "erp"),
            "agent": ("keys", "create", "--role", "agent"),
            "ops": ("keys", "create", "--role", "ops"),
        }
        launched = {name: self.launch(*args) for name, args in wanted.items()}
        for name, args in wanted.items():
            self.keys[name] = self.shown(args, launched[name])
        t.comment(
            "$WEB, $WAREHOUSE, $ERP, $AGENT and $OPS hold the five keys (each back-office system "
            "its own, bound to its source); HUB is the API"
        )
        t.command(f"export HUB={self.hub.url}")
        wait_for(self.ready, timeout=60, what="the API to come up")
        response = self.api.request("GET", "/health/ready", None)
        self.api.answer(response)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.hub.url}/health/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stock(self) -> None:
        self.t.say()
        self.t.comment("The warehouse reports what it holds at dc-east.")
        skus = sorted({ln.sku for o in self.orders for ln in o.lines})
        for n, sku in enumerate(skus, 1):
            body = self.inbound_body(f"wh-stock-{n}", "stock.snapshot",
                                     {"sku": sku, "location": LOCATION, "on_hand": 20, "sequence": 1})  # fmt: skip
            self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))

    # -- the orders --------------------------------------------------------------------------

    def place(self) -> None:
        t = self.t
        for order in self.orders:
            order.intent = self.stripe.add_intent(order.capture_minor, order.currency)
        shopify, *web = self.orders
        t.say()
        t.comment(
            f"The Shopify storefront authorized {shopify.intent} for {shopify.capture_minor} "
            f"(minor units, {shopify.currency}) with capture_method=manual, and Shopify sends "
            "orders/create, signed with SHOPIFY_WEBHOOK_SECRET."
        )
        self.shop.add_order(SHOPIFY_ORDER_ID, {1: 1})
        payload = shopify_order(shopify)
        raw = json.dumps(payload).encode()
        t.command(f"cat shopify-order.json\n{json.dumps(payload, indent=2)}")
        sig = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).digest())
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Hmac-Sha256": sig.decode(),
        }
        shown = {
            **headers,
            "X-Shopify-Hmac-Sha256": (
                '$(openssl dgst -sha256 -hmac "$SHOPIFY_WEBHOOK_SECRET" -binary shopify-order.json'
                " | base64)"
            ),
        }
        response = self.api.request(
            "POST", "/v1/webhooks/shopify/orders-create", None,
            headers=headers, raw=raw, shown_body="@shopify-order.json", shown_headers=shown,
        )  # fmt: skip
        shopify.order_id = self.api.answer(response)["order_id"]
        for order in web:
            t.say()
            t.comment(
                f"The web shop authorized {order.intent} for {order.capture_minor} "
                f"(minor units, {order.currency}) with capture_method=manual and places the order."
            )
            body = {
                "channel_order_ref": order.ref,
                "customer": {"email": "ann@example.com", "name": "Ann Lee"},
                "shipping_address": {"name": "Ann Lee", "line1": "1 Main St", "city": "Berlin",
                                     "postal_code": "10115", "country": "DE"},
                "currency": order.currency,
                "lines": [{"sku": ln.sku, "quantity": ln.quantity, "unit_price": ln.unit_price}
                          for ln in order.lines],
                "payment": {"reference": order.intent, "amount": order.total},
            }  # fmt: skip
            response = self.api.request(
                "POST", "/v1/orders", "web", body, headers={"Idempotency-Key": f"{order.ref}-1"}
            )
            placed = self.api.answer(response, "id", "status", "currency", "total", "payment")
            order.order_id = placed["id"]
        t.say()
        t.comment("The ERP books each order (PUT /orders/{id} on the fake ERP); the agent looks:")
        for order in self.orders:
            booked = self.wait_order(order, lambda o: o["erp_order_ref"], "booked by the ERP")
            self.api.request("GET", f"/v1/orders/{order.order_id}", "agent")
            self.t.say(f"→ 200 {compact(pick(booked, 'channel', 'status', 'erp_order_ref'))}")

    def ship_and_deliver(self) -> None:
        self.t.say()
        self.t.comment("The warehouse ships each order, then the carrier delivers it.")
        for n, order in enumerate(self.orders, 1):
            data = {
                "order_id": order.order_id, "shipment_id": f"SHP-{n}", "location": LOCATION,
                "carrier": "DHL", "tracking_number": f"JD01460000{n}",
                "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
            }  # fmt: skip
            body = self.inbound_body(f"wh-ship-{n}", "shipment.dispatched", data)
            self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))
        self.t.comment("The first shipment captures the payment at Stripe:")
        for order in self.orders:
            captured = self.wait_order(
                order, lambda o: o["payment"]["status"] == "captured", "the capture"
            )
            self.api.request("GET", f"/v1/orders/{order.order_id}", "agent")
            self.t.say(f"→ 200 {compact(pick(captured, 'status', 'payment'))}")
        for n, order in enumerate(self.orders, 1):
            body = self.inbound_body(
                f"wh-deliver-{n}",
                "shipment.delivered",
                {"order_id": order.order_id, "shipment_id": f"SHP-{n}"},
            )
            self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))
        for order in self.orders:
            self.wait_order(order, lambda o: o["status"] == "delivered", "the delivery")

    def return_and_refund(self) -> None:
        t = self.t
        t.say()
        t.comment("Each customer sends something back; an agent (Shopify) or the web shop asks.")
        for order in self.orders:
            key = "web" if order.channel == "web" else "agent"
            body = {"lines": [{"sku": order.returned.sku, "quantity": order.returned.quantity,
                               "reason": "does not fit"}]}  # fmt: skip
            response = self.api.request("POST", f"/v1/orders/{order.order_id}/returns", key, body)
            ret = self.api.answer(response, "id", "status", "rma_number", "lines")
            order.return_id, order.rma_number = ret["id"], ret["rma_number"]
        t.comment("The warehouse receives and inspects the returned units.")
        for n, order in enumerate(self.orders, 1):
            lines = [{"sku": order.returned.sku, "quantity": order.returned.quantity}]
            received = {"return_id": order.return_id, "lines": lines}
            inspected = {"return_id": order.return_id,
                         "lines": [{"sku": order.returned.sku, "disposition": "restock"}]}  # fmt: skip
            for event_id, kind, data in (
                (f"wh-rcv-{n}", "return.received", received),
                (f"wh-insp-{n}", "return.inspected", inspected),
            ):
                body = self.inbound_body(event_id, kind, data)
                self.api.answer(
                    self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body)
                )
        t.comment(
            "The hub asks the ERP for a credit memo (PUT /returns/{id}/credit-memo-request); the "
            "ERP posts it back:"
        )
        for n, order in enumerate(self.orders, 1):
            asked = wait_for(
                lambda o=order: self.erp.credit_memo_requests.get(o.return_id),
                timeout=STEP_TIMEOUT,
                what=f"the credit memo request of the {order.label} return",
            )
            data = {"return_id": order.return_id, "credit_memo_ref": f"CM-{n:05d}",
                    "amount": asked["amount"]}  # fmt: skip
            body = self.inbound_body(f"erp-cm-{n}", "credit_memo.posted", data)
            self.api.answer(self.api.request("POST", "/v1/inbound/erp", "erp", body))
        t.comment("The refund goes to Stripe and the return closes:")
        for order in self.orders:
            order.final_return = wait_for(
                lambda o=order: (
                    (r := self.api.get(f"/v1/returns/{o.return_id}", "agent"))["status"] == "closed"
                    and r
                ),
                timeout=STEP_TIMEOUT,
                what=f"the {order.label} return to close",
            )
            response = self.api.request("GET", f"/v1/returns/{order.return_id}", "agent")
            self.api.answer(response, "status", "refund_amount", "credit_memo_ref")
            response = self.api.request("GET", f"/v1/orders/{order.order_id}", "agent")
            order.final_order = self.api.answer(response, "channel", "status", "total", "payment")

    # -- what everybody saw ------------------------------------------------------------------

    def pushes_done(self) -> bool:
        """Whether every status push has been made or skipped: the fulfilment and returns
        consumers push apart, so a return can close before its order's `delivered` push."""
        web = sum(o.channel == "web" for o in self.orders)
        skipped = skipped_pushes(self.hub.log("worker"))
        statuses = {attributes(s.body)["orderhub_status"] for s in self.shop.seen("PUT ")}
        fulfilled = self.shop.seen("POST /admin/api/2025-01/fulfillments.json")
        return len(skipped) >= 4 * web and len(statuses) >= 3 and bool(fulfilled)

    def report(self) -> Outcome:
        t = self.t
        with suppress(AssertionError):  # reported as it stands: the test names what is missing
            wait_for(self.pushes_done, timeout=STEP_TIMEOUT, what="every status push")
        t.say()
        t.comment("What the fake Stripe saw: every capture and refund, amounts in minor units.")
        movements = []
        for m in self.stripe.movements:
            path = (
                f"/v1/payment_intents/{m.intent}/capture" if m.kind == "capture" else "/v1/refunds"
            )
            keys = sorted(
                {
                    s.headers.get("idempotency-key", "")
                    for s in self.stripe.seen(f"POST {path}")
                    if m.kind == "capture" or (s.body or {}).get("payment_intent") == m.intent
                }
            )
            order = next(o for o in self.orders if o.intent == m.intent)
            currency = self.stripe.intents[m.intent]["currency"]
            movements.append((m.kind, m.intent, m.amount, currency, keys))
            t.say(
                f"{m.kind:8} {m.intent}  {m.amount:>5} {currency}  Idempotency-Key {', '.join(keys)}"
                f"  ({order.label} order {order.ref})"
            )
        t.say(f"({len(self.stripe.requests)} requests in all, {len(movements)} money movements)")
        t.say()
        t.comment(
            "What the fake Shopify heard (COMMERCE_ROUTES sends it the shopify channel only):"
        )
        heard = [s.line for s in self.shop.requests]
        for s in self.shop.requests:
            t.say(f"{s.line}{shopify_detail(s)}")
        fulfilled = {f["order_id"] for fs in self.shop.fulfillments.values() for f in fs}
        about = {int(m) for line in heard for m in re.findall(r"/orders/(\d+)", line)} | fulfilled
        t.say()
        t.comment("What the router skipped (web=none), from the worker's log:")
        skipped = skipped_pushes(self.hub.log("worker"))
        for channel, status, ref in skipped:
            t.say(
                f"commerce push skipped: channel {channel} routes to none (status {status}, order {ref})"
            )
        t.say()
        t.comment("What the fake ERP was told:")
        for order in self.orders:
            memo = self.erp.credit_memo_requests.get(order.return_id) or {}
            t.say(
                f"{order.label:8} booked {self.erp.booked().get(order.order_id)}, return "
                f"{(self.erp.returns.get(order.return_id) or {}).get('rma_number')} authorized, "
                f"credit memo requested for {memo.get('amount')} {memo.get('currency')}"
            )
        t.say()
        t.comment("Dead letters:")
        response = self.api.request("GET", "/v1/ops/dead-letters", "ops")
        letters = self.api.answer(response)["items"]
        tracebacks = {n: self.hub.log(n).count("Traceback") for n in self.hub.processes}
        return Outcome(
            orders=self.orders,
            movements=movements,
            shopify_heard=heard,
            shopify_orders=about,
            shopify_statuses=[
                attributes(s.body)["orderhub_status"] for s in self.shop.seen("PUT ")
            ],
            shopify_tracking=[
                s.body["fulfillment"]["tracking_info"]["number"]
                for s in self.shop.seen("POST /admin/api/2025-01/fulfillments.json")
            ],
            skipped=skipped,
            dead_letters=letters,
            tracebacks={n: c for n, c in tracebacks.items() if c},
            transcript=self.t.lines,
        )

    # -- helpers -----------------------------------------------------------------------------

    def inbound_body(self, event_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"event_id": event_id, "type": kind, "occurred_at": now(), "data": data}

    def wait_order(
        self, order: Planned, condition: Callable[[dict[str, Any]], Any], what: str
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            found = self.api.get(f"/v1/orders/{order.order_id}", "agent")
            return found if condition(found) else None

        return wait_for(check, timeout=STEP_TIMEOUT, what=f"{what} of the {order.label} order")


def shopify_order(order: Planned) -> dict[str, Any]:
    """The `orders/create` payload of the Shopify order (Admin REST order JSON, trimmed to what
    the hub reads, plus the fields a real delivery always has), paid with a Stripe
    PaymentIntent that the storefront authorized and named in the order's note attributes."""
    return {
        "id": SHOPIFY_ORDER_ID,
        "admin_graphql_api_id": f"gid://shopify/Order/{SHOPIFY_ORDER_ID}",
        "name": "#1001",
        "email": "bo@example.com",
        "created_at": now(),
        "currency": order.currency,
        "financial_status": "authorized",
        "payment_gateway_names": ["stripe"],
        "note_attributes": [{"name": "payment_reference", "value": order.intent}],
        "total_price": order.total,
        "line_items": [
            {"id": 1_300_000_000 + i, "sku": ln.sku, "quantity": ln.quantity, "price": ln.unit_price,
             "title": ln.sku, "discount_allocations": []}
            for i, ln in enumerate(order.lines)
        ],
        "customer": {"id": 7_100_000_001, "email": "bo@example.com", "first_name": "Bo",
                     "last_name": "Berg"},
        "shipping_address": {"first_name": "Bo", "last_name": "Berg", "name": "Bo Berg",
                             "address1": "Kungsgatan 1", "city": "Stockholm", "zip": "111 43",
                             "country_code": "SE"},
    }  # fmt: skip


def attributes(body: Any) -> dict[str, Any]:
    """The note attributes an order update writes, by name."""
    return {a["name"]: a["value"] for a in body["order"].get("note_attributes", [])}


def shopify_detail(seen: Any) -> str:
    body = seen.body or {}
    if "order" in body:
        status = attributes(body).get("orderhub_status")
        return f"  orderhub_status={status} tags={body['order'].get('tags')!r}"
    if "fulfillment" in body:
        tracking = body["fulfillment"].get("tracking_info") or {}
        return f"  tracking {tracking.get('company')} {tracking.get('number')}"
    return ""


def skipped_pushes(log: str) -> list[tuple[str, str, str]]:
    found = []
    for line in log.splitlines():
        match = _SKIP.search(line)
        if match:
            found.append((match.group(1), match.group(2), match.group(3)))
    return found


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@contextmanager
def empty_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (the run migrates it with `orderhub migrate`)."""
    name = f"orderhub_going_live_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    outcome = run()
    ok = not outcome.dead_letters and len(outcome.movements) == 2 * len(outcome.orders)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
