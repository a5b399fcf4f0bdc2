"""Issue 18's "done when", tried as a new user would: the hub's API, relay and worker processes on
PostgreSQL and Redis, `COMMERCE_ROUTES=pos=webhook` and a fake REST ERP on loopback. A POS channel
subscribes its receiver (docs/examples/pos_receiver.py, a process of its own); its orders are
placed, shipped and refunded, and the receiver verifies and prints each event. Then the receiver
is stopped, more happens, and it is started again: it catches up through the feed from its last
cursor, and ignores the webhooks the hub delivers late. The run prints a transcript.

    .venv/bin/python -m tests.e2e.webhooks_transcript [docs/webhooks-transcript.md]

Needs PostgreSQL on 127.0.0.1:5432 (a database of its own, dropped afterwards) and Redis on
127.0.0.1:6379 (database 15, flushed). `tests/e2e/test_webhooks_transcript.py` runs it and checks
what the receiver got.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from cryptography.fernet import Fernet

from tests.e2e.going_live import Client, Transcript, compact, empty_database, now, pick
from tests.e2e.processes import ORDERHUB, Hub, free_port, wait_for
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.live_server import live_server

BROKER_URL = os.environ.get("ORDERHUB_WEBHOOKS_BROKER_URL", "redis://127.0.0.1:6379/15")
RECEIVER = Path(__file__).parents[2] / "docs" / "examples" / "pos_receiver.py"
ERP_KEY = "erp-key"
STEP_TIMEOUT = 90.0
SKU, LOCATION = "TEA-TIN", "store-12"
TYPES = [
    "OrderPlaced", "InventoryReserved", "OrderBooked", "ShipmentDispatched", "ShipmentDelivered",
    "ReturnRequested", "ReturnAuthorized", "ReturnReceived", "RefundIssued", "OrderCancelled",
]  # fmt: skip


@dataclass
class Outcome:
    feed_ids: list[str]  #: the POS's events of TYPES, as the feed lists them at the end
    receiver_lines: list[str]
    seen: set[str]  #: the event ids the receiver kept
    refused_signatures: int
    transcript: list[str] = field(default_factory=list)


class Receiver:
    """The POS's receiver as a process; its output is read line by line into the transcript."""

    def __init__(self, hub_url: str, key: str, secret: str, port: int, state: Path) -> None:
        self.args = [sys.executable, str(RECEIVER), "--hub", hub_url, "--port", str(port),
                     "--state", str(state), "--types", ",".join(TYPES)]  # fmt: skip
        self.env = {**os.environ, "POS_KEY": key, "WEBHOOK_SECRET": secret}
        self.state = state
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._log = state.with_suffix(".log")

    def start(self) -> None:
        self._offset = len(self.lines)
        out = self._log.open("a")
        self.process = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out, text=True)

    def output(self) -> list[str]:
        """Every line it printed so far, over all its runs."""
        return self._log.read_text().splitlines() if self._log.exists() else []

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        self.process = None

    def seen(self) -> set[str]:
        return set(json.loads(self.state.read_text())["seen"]) if self.state.exists() else set()


class WebhooksRun:
    def __init__(self, hub: Hub, erp: FakeErp, t: Transcript, env: dict[str, str], tmp: Path):
        self.hub, self.erp, self.t, self.env = hub, erp, t, env
        self.keys: dict[str, str] = {}
        self.api = Client(hub.url, self.keys, t)
        self.port = free_port()
        self.tmp = tmp
        self.receiver: Receiver | None = None
        self.shown = 0
        self.orders: list[str] = []

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            self.start()
            self.subscribe()
            first = [self.place("POS-1001"), self.place("POS-1002")]
            for n, order in enumerate(first, 1):
                self.ship_and_deliver(order, n)
            self.refund(first[0], 1)
            self.until_received(self.feed_ids(), "the receiver to have every event")
            self.show_receiver()
            self.outage()
            return self.report()
        finally:
            if self.receiver is not None and self.receiver.process is not None:
                self.receiver.stop()
            self.api.close()

    def start(self) -> None:
        t = self.t
        t.comment("A fake REST ERP on loopback books the orders and takes the returns.")
        t.comment("orderhub's settings, shared by its three processes:")
        t.command(f"export DATABASE_URL={self.hub.env['DATABASE_URL']} BROKER_URL={BROKER_URL}")
        for name, value in {**self.env, "WEBHOOK_SECRET_KEY": "<a Fernet key>"}.items():
            t.command(f"export {name}={value}")
        self.cli("migrate")
        t.command(f"orderhub serve --port {self.hub.port} & orderhub relay & orderhub worker &")
        self.hub.start("api", "serve", "--host", "127.0.0.1", "--port", str(self.hub.port))
        self.hub.start("relay", "relay")
        self.hub.start("worker", "worker", "--threads", "4")
        for name, args in {
            "ops": ("keys", "create", "--role", "ops"),
            "pos": ("keys", "create", "--role", "channel", "--channel", "pos"),
            "warehouse": ("keys", "create", "--role", "system", "--source", "warehouse"),
            "erp": ("keys", "create", "--role", "system", "--source", "erp"),
        }.items():
            self.keys[name] = self.cli(*args)
        t.command(f"export HUB={self.hub.url}  # $OPS, $POS, $WAREHOUSE, $ERP hold the keys")
        wait_for(self.ready, timeout=60, what="the API")
        body = {"event_id": "wh-stock-1", "type": "stock.snapshot", "occurred_at": now(),
                "data": {"sku": SKU, "location": LOCATION, "on_hand": 50, "sequence": 1}}  # fmt: skip
        self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))

    def subscribe(self) -> None:
        t = self.t
        t.say()
        t.comment("The POS team subscribes its receiver to its orders' changes (an ops key):")
        body = {"url": f"http://127.0.0.1:{self.port}/orderhub", "event_types": TYPES,
                "channel": "pos"}  # fmt: skip
        response = self.api.request("POST", "/v1/webhook-subscriptions", "ops", body)
        made = response.json()
        shown = {**pick(made, "id", "url", "channel"), "secret": made["secret"][:6] + "…"}
        t.say(f"→ {response.status_code} {compact(shown)}")
        self.secret = made["secret"]
        t.comment("The secret is shown this once; the receiver keeps it. The receiver starts")
        t.comment("(it reads the feed with the types it subscribed to):")
        t.command(f"export TYPES={','.join(TYPES)}")
        t.command(
            f"POS_KEY=$POS WEBHOOK_SECRET=… python docs/examples/pos_receiver.py --hub $HUB "
            f"--port {self.port} --state pos-state.json --types $TYPES &"
        )
        self.receiver = Receiver(
            self.hub.url, self.keys["pos"], self.secret, self.port, self.tmp / "pos-state.json"
        )
        self.receiver.start()
        wait_for(lambda: any("listening" in x for x in self.receiver_output()), STEP_TIMEOUT,
                 "the receiver to listen")  # fmt: skip
        self.show_receiver()

    def place(self, ref: str) -> str:
        self.t.say()
        self.t.comment(f"The POS sells order {ref}:")
        body = {
            "channel_order_ref": ref,
            "customer": {"email": "kim@example.com", "name": "Kim Park"},
            "shipping_address": {"name": "Kim Park", "line1": "4 Quay St", "city": "Leeds",
                                 "postal_code": "LS1 4AP", "country": "GB"},
            "currency": "GBP",
            "lines": [{"sku": SKU, "quantity": 2, "unit_price": "12.50"}],
            "payment": {"reference": f"pos-pay-{ref}", "amount": "25.00"},
        }  # fmt: skip
        response = self.api.request(
            "POST", "/v1/orders", "pos", body, headers={"Idempotency-Key": f"{ref}-1"}
        )
        order_id = str(self.api.answer(response, "id", "status", "total")["id"])
        self.orders.append(order_id)
        self.wait_order(order_id, lambda o: o["erp_order_ref"], "the ERP booking")
        return order_id

    def ship_and_deliver(self, order_id: str, n: int) -> None:
        self.t.comment("The store's warehouse ships it, and the carrier delivers:")
        shipment = f"SHP-{n}-{order_id[:4]}"
        for event_id, kind, data in (
            (f"ship-{order_id}", "shipment.dispatched",
             {"order_id": order_id, "shipment_id": shipment, "location": LOCATION,
              "carrier": "DPD", "tracking_number": f"DPD-{n:04d}",
              "lines": [{"sku": SKU, "quantity": 2}]}),
            (f"deliver-{order_id}", "shipment.delivered",
             {"order_id": order_id, "shipment_id": shipment}),
        ):  # fmt: skip
            body = {"event_id": event_id, "type": kind, "occurred_at": now(), "data": data}
            self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))
        self.wait_order(order_id, lambda o: o["status"] == "delivered", "the delivery")

    def refund(self, order_id: str, n: int) -> None:
        t = self.t
        t.comment("The customer brings one tin back; the POS asks for the return:")
        body = {"lines": [{"sku": SKU, "quantity": 1, "reason": "dented"}]}
        response = self.api.request("POST", f"/v1/orders/{order_id}/returns", "pos", body)
        return_id = self.api.answer(response, "id", "status", "rma_number")["id"]
        for event_id, kind, data in (
            (f"rcv-{return_id}", "return.received",
             {"return_id": return_id, "lines": [{"sku": SKU, "quantity": 1}]}),
            (f"insp-{return_id}", "return.inspected",
             {"return_id": return_id, "lines": [{"sku": SKU, "disposition": "restock"}]}),
        ):  # fmt: skip
            body = {"event_id": event_id, "type": kind, "occurred_at": now(), "data": data}
            self.api.answer(self.api.request("POST", "/v1/inbound/warehouse", "warehouse", body))
        asked = wait_for(lambda: self.erp.credit_memo_requests.get(return_id), STEP_TIMEOUT,
                         "the credit memo request")  # fmt: skip
        data = {"return_id": return_id, "credit_memo_ref": f"CM-{n:04d}", "amount": asked["amount"]}
        body = {"event_id": f"cm-{return_id}", "type": "credit_memo.posted", "occurred_at": now(),
                "data": data}  # fmt: skip
        self.api.answer(self.api.request("POST", "/v1/inbound/erp", "erp", body))
        wait_for(
            lambda: self.api.get(f"/v1/returns/{return_id}", "ops")["status"] == "closed",
            STEP_TIMEOUT, "the return to close",
        )  # fmt: skip

    def outage(self) -> None:
        t = self.t
        assert self.receiver is not None
        t.say()
        t.comment("The POS's receiver goes down (its machine restarts).")
        wait_for(self.checkpointed, STEP_TIMEOUT, "the receiver's checkpoint")
        t.command("kill %1   # the receiver")
        self.receiver.stop()
        self.show_receiver()
        t.comment("Meanwhile a third order is sold, shipped and delivered, and the second one is")
        t.comment("returned and refunded. The hub's webhooks to the receiver wait out its outage:")
        third = self.place("POS-1003")
        self.ship_and_deliver(third, 3)
        self.refund(self.orders[1], 2)
        waiting = self.api.get("/v1/ops/remotes", "ops")
        self.api.request("GET", "/v1/ops/remotes", "ops")
        webhook = [r for r in waiting["items"] if r["name"] == "webhook"]
        t.say(f"→ 200 {compact({'items': webhook or waiting['items']})}")
        t.say()
        t.comment("The receiver starts again: it catches up through the feed from its last")
        t.comment("cursor, then takes webhooks again (the late ones it already has are ignored).")
        t.command(
            "POS_KEY=$POS WEBHOOK_SECRET=… python docs/examples/pos_receiver.py --hub $HUB "
            f"--port {self.port} --state pos-state.json --types $TYPES &"
        )
        self.receiver.start()
        self.until_received(self.feed_ids(), "the receiver to catch up")
        self.settle()
        self.show_receiver()

    def report(self) -> Outcome:
        assert self.receiver is not None
        feed_ids = self.feed_ids()
        lines = self.receiver_output()
        seen = self.receiver.seen()
        self.t.say()
        self.t.comment("The feed as the POS reads it, and what its receiver kept:")
        self.t.say(f"#   events of the POS's orders in the feed: {len(feed_ids)}")
        self.t.say(f"#   events the receiver has: {len(seen & set(feed_ids))} "
                   f"(missing {len(set(feed_ids) - seen)})")  # fmt: skip
        self.t.say(f"#   webhooks that arrived late and were ignored as duplicates: "
                   f"{sum('duplicate' in x for x in lines)}")  # fmt: skip
        letters = self.api.get("/v1/ops/dead-letters", "ops")["items"]
        self.t.say(f"#   dead letters: {len(letters)}")
        return Outcome(
            feed_ids=feed_ids,
            receiver_lines=lines,
            seen=seen,
            refused_signatures=sum("REFUSED" in x for x in lines),
            transcript=self.t.lines,
        )

    # -- helpers -----------------------------------------------------------------------------

    def cli(self, *args: str) -> str:
        done = subprocess.run([ORDERHUB, *args], env=self.hub.env, capture_output=True,
                              text=True, timeout=60, check=True)  # fmt: skip
        self.t.command(f"orderhub {' '.join(args)}")
        lines = done.stdout.strip().splitlines()
        shown = [*lines[:-1], "ohk_…"] if args[:2] == ("keys", "create") else lines
        self.t.say("\n".join(shown))
        return lines[-1] if lines else ""

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.hub.url}/health/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_order(
        self, order_id: str, condition: Callable[[dict[str, Any]], Any], what: str
    ) -> None:
        def check() -> bool:
            return bool(condition(self.api.get(f"/v1/orders/{order_id}", "ops")))

        wait_for(check, STEP_TIMEOUT, what)

    def feed_ids(self) -> list[str]:
        ids, after = [], None
        while True:
            path = "/v1/events?limit=500&types=" + ",".join(TYPES)
            page = self.api.get(path + (f"&after={after}" if after else ""), "pos")
            ids += [e["event_id"] for e in page["items"]]
            after = page["next_cursor"]
            if not page["items"]:
                return ids

    def checkpointed(self) -> bool:
        """The receiver's kept cursor is at the head of its feed (it has every event)."""
        assert self.receiver is not None
        cursor = json.loads(self.receiver.state.read_text())["cursor"]
        path = "/v1/events?limit=1&types=" + ",".join(TYPES) + f"&after={cursor}"
        return not self.api.get(path, "pos")["items"]

    def receiver_output(self) -> list[str]:
        return self.receiver.output() if self.receiver is not None else []

    def until_received(self, ids: list[str], what: str) -> None:
        assert self.receiver is not None
        wait_for(lambda: set(ids) <= self.receiver.seen(), STEP_TIMEOUT, what)  # type: ignore[union-attr]

    def settle(self) -> None:
        """Wait until the hub has no webhook left to send (the late ones reached the receiver)."""

        def quiet() -> bool:
            remotes = self.api.get("/v1/ops/remotes", "ops")["items"]
            return not any(r["name"] == "webhook" and r["waiting"] for r in remotes)

        wait_for(quiet, STEP_TIMEOUT, "the late webhooks")
        time.sleep(
            1.0
        )  # a webhook in flight when the count fell to 0 lands (a transcript, not a test)

    def show_receiver(self) -> None:
        lines = self.receiver_output()
        self.t.comment("The receiver printed:")
        for line in lines[self.shown :]:
            self.t.say(f"  | {line}")
        self.shown = len(lines)


def run(out: Callable[[str], None] = print) -> Outcome:
    transcript = Transcript(out)
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="webhooks-")))
        db_url = stack.enter_context(empty_database())
        erp = FakeErp(ERP_KEY)
        erp.url = stack.enter_context(live_server(erp))
        env = {
            "COMMERCE_ROUTES": "pos=webhook,*=simulator",
            "WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
            "ERP_URL": erp.url,
            "ERP_API_KEY": ERP_KEY,
        }
        hub = Hub(db_url, BROKER_URL, tmp, **env, WEBHOOK_SECRET_KEY=Fernet.generate_key().decode())
        stack.callback(broker.close)
        stack.callback(broker.flushdb)
        stack.callback(hub.close)
        session = WebhooksRun(hub, erp, transcript, env, tmp)
        try:
            return session.run()
        except BaseException:
            transcript.say("\n# the run failed; the processes' logs end with:")
            for name in hub.processes:
                transcript.say(f"## {name}\n" + "\n".join(hub.log(name).splitlines()[-30:]))
            raise


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    outcome = run()
    if target is not None:
        target.write_text(
            "# Transcript: a POS hears its orders through webhooks, and catches up through the "
            "feed\n\nWritten by `.venv/bin/python -m tests.e2e.webhooks_transcript "
            "docs/webhooks-transcript.md` (real `orderhub` processes on PostgreSQL and Redis, a "
            "fake REST ERP, the receiver of docs/examples/pos_receiver.py).\n\n```\n"
            + "\n".join(outcome.transcript)
            + "\n```\n"
        )
    missing = set(outcome.feed_ids) - outcome.seen
    return 1 if missing or outcome.refused_signatures else 0


if __name__ == "__main__":
    sys.exit(main())
