"""Agents act from the console in a real browser (headless Debian Chromium), on PostgreSQL with
separate API, relay and worker processes and the ERP's REST API served from the test process:
what an agent does on the order page reaches the ERP through the worker and comes back on the
timeline. The browser talks to 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import redis
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import browser_in, screenshot, sign_in, submit_and_wait
from tests.e2e.processes import Hub, wait_for
from tests.faults.erp import ERP_KEY, ControllableErp
from tests.integration.adapters.live_server import live_server
from tests.integration.databases import postgres_database

BROKER = "redis://127.0.0.1:6379/14"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "console-order-acts.png"
OPS_SCREENSHOT = REPO / "docs" / "console-ops.png"
SKU = "MUG-1"
#: Every wait on the hub's processes is bounded by this many seconds.
SETTLE = 60


@dataclass
class Desk:
    """The running hub, its keys, and the ERP behind it."""

    hub: Hub
    erp: ControllableErp
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.hub.url

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def order(self, order_id: str) -> dict[str, Any]:
        answer = self.call("agent", "GET", f"/v1/orders/{order_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def inbound(self, source: str, event_type: str, data: dict[str, Any]) -> None:
        body = {"event_id": str(uuid4()), "type": event_type,
                "occurred_at": "2026-12-07T10:00:00Z", "data": data}  # fmt: skip
        answer = self.call("system", "POST", f"/v1/inbound/{source}", json=body)
        assert answer.status_code == 200, answer.text

    def booked_order(self) -> str:
        """A web order for 2 mugs, placed and booked in the ERP by the worker."""
        ref = f"ACT-{uuid4().hex[:8]}"
        placed = self.call("web", "POST", "/v1/orders", headers={"Idempotency-Key": ref}, json={
            "channel_order_ref": ref, "customer": {"email": "ann@example.com", "name": "Ann Lee"},
            "shipping_address": {"name": "Ann Lee", "line1": "1 Main St", "city": "Berlin",
                                 "postal_code": "10115", "country": "DE"},
            "currency": "EUR", "lines": [{"sku": SKU, "quantity": 2, "unit_price": "12.50"}],
            "payment": {"reference": f"pay-{ref}", "amount": "25.00"},
        })  # fmt: skip
        assert placed.status_code == 201, placed.text
        order_id = str(placed.json()["id"])
        wait_for(lambda: self.order(order_id)["status"] == "booked", SETTLE, "the ERP booking")
        return order_id

    def delivered_order(self) -> str:
        order_id = self.booked_order()
        shipment = f"S-{order_id[:8]}"
        self.inbound("warehouse", "shipment.dispatched", {
            "order_id": order_id, "shipment_id": shipment, "location": "dc-east",
            "carrier": "DHL", "tracking_number": "JD0001", "lines": [{"sku": SKU, "quantity": 2}],
        })  # fmt: skip
        self.inbound("warehouse", "shipment.delivered", {"order_id": order_id, "shipment_id": shipment})  # fmt: skip
        wait_for(lambda: self.order(order_id)["status"] == "delivered", SETTLE, "the delivery")
        return order_id

    def timeline(self, order_id: str) -> list[dict[str, Any]]:
        answer = self.call("agent", "GET", f"/v1/orders/{order_id}/timeline", params={"limit": 500})
        return list(answer.json()["items"])


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The production topology on loopback: web returns wait for an agent (RETURNS_NEED_AGENT)."""
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    erp = ControllableErp()
    with postgres_database() as url, live_server(erp) as erp_url:
        hub = Hub(url, BROKER, tmp_path_factory.mktemp("hub"),
                  ERP_URL=erp_url, ERP_API_KEY=ERP_KEY, RETURNS_NEED_AGENT="web")  # fmt: skip
        keys = {"system": hub.key("system"), "web": hub.key("channel", "web"),
                "agent": hub.key("agent"), "ops": hub.key("ops")}  # fmt: skip
        try:
            hub.start_all()
            running = Desk(hub, erp, keys)
            running.inbound("warehouse", "stock.snapshot",
                            {"sku": SKU, "location": "dc-east", "on_hand": 1000, "sequence": 1})  # fmt: skip
            yield running
            for name in ("api", "relay", "worker"):
                assert "Traceback" not in hub.log(name), hub.log(name)[-3000:]
        finally:
            erp.release()
            hub.close()
            broker.flushdb()
            broker.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from browser_in(tmp_path_factory.mktemp("chromium-profile"))


def open_order(browser: WebDriver, desk: Desk, order_id: str) -> None:
    browser.get(f"{desk.url}/console/orders/{order_id}")
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline li"), browser.page_source[:2000]


def act(browser: WebDriver, action: str, **typed: str) -> str:
    """Open the act's form (unfolding it when folded), type into its fields, send it; returns
    the sentence the page answers with."""
    form = browser.find_element(By.CSS_SELECTOR, f"form[action$='/{action}']")
    folded = form.find_elements(By.XPATH, "ancestor::details[1]/summary")
    if folded and not form.is_displayed():
        folded[0].click()
    for name, text in typed.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(text)
    submit_and_wait(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    said = browser.find_elements(By.CSS_SELECTOR, ".notice, [role=alert]")
    assert said, browser.page_source[:3000]
    return str(said[0].text)


def status(browser: WebDriver) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, "h1 .status").text.lower())


def test_an_agent_holds_and_resumes_an_order(chromium: WebDriver, desk: Desk) -> None:
    order_id = desk.booked_order()
    sign_in(chromium, desk.url, desk.keys["agent"])
    open_order(chromium, desk, order_id)

    assert act(chromium, "hold", reason="customer asked us to wait") == "The order is on hold."
    assert status(chromium) == "on hold"
    assert "On hold: customer asked us to wait" in chromium.find_element(By.CSS_SELECTOR, ".order-head").text  # fmt: skip
    assert act(chromium, "resume") == "The order is off hold."

    assert status(chromium) == "booked"
    assert desk.order(order_id)["status"] == "booked"
    mine = [(e["source"], e["kind"]) for e in desk.timeline(order_id)][-2:]
    assert mine == [("agent", "order.held"), ("agent", "order.resumed")]


def test_an_agent_requests_and_authorizes_a_return_and_leaves_a_note(
    chromium: WebDriver, desk: Desk
) -> None:
    order_id = desk.delivered_order()
    sign_in(chromium, desk.url, desk.keys["agent"])
    open_order(chromium, desk, order_id)

    asked = act(chromium, "request-return", quantity_0="1", reason_0="chipped on arrival")

    assert asked == "The return is requested."
    ret = chromium.find_element(By.CSS_SELECTOR, ".returns .return")
    assert "REQUESTED" in ret.text  # RETURNS_NEED_AGENT=web: it waits for an agent
    assert act(chromium, "authorize") == "The return is authorized."
    assert "AUTHORIZED" in chromium.find_element(By.CSS_SELECTOR, ".returns .return").text
    (return_ref,) = desk.order(order_id)["returns"]

    def told_the_erp() -> bool:
        return any(c.kind == "return" and c.subject == return_ref["id"] and c.accepted
                   for c in desk.erp.changes)  # fmt: skip

    wait_for(told_the_erp, SETTLE, "the worker to send the ERP the return authorization")

    note = "Customer drops the parcel at the post office on Monday"
    assert act(chromium, "notes", text=note) == "The note is on the timeline."
    last = chromium.find_elements(By.CSS_SELECTOR, ".timeline li")[-1]
    assert last.get_attribute("data-kind") == "note.added"
    assert last.find_element(By.CSS_SELECTOR, ".title").text == f"Note: {note}"
    assert last.find_element(By.CSS_SELECTOR, ".source").text.lower() == "agent"
    screenshot(chromium, SCREENSHOT)


def test_an_operator_replays_a_dead_letter_from_the_operations_page(
    chromium: WebDriver, desk: Desk
) -> None:
    order_id = desk.booked_order()
    desk.erp.poisoned_cancellations.add(order_id)  # the ERP refuses its cancellation for good
    cancelled = desk.call("web", "POST", f"/v1/orders/{order_id}/cancel", json={"reason": "changed my mind"})  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text

    def dead_letter() -> dict[str, Any] | None:
        letters = desk.call("ops", "GET", "/v1/ops/dead-letters").json()["items"]
        return next((d for d in letters if d["aggregate_id"] == order_id), None)

    letter = wait_for(dead_letter, SETTLE, "the refused cancellation to become a dead letter")
    desk.erp.poisoned_cancellations.discard(order_id)  # the cause is fixed

    sign_in(chromium, desk.url, desk.keys["agent"])
    chromium.get(f"{desk.url}/console/ops")
    assert "ops key" in chromium.find_element(By.CSS_SELECTOR, "[role=alert]").text
    sign_in(chromium, desk.url, desk.keys["ops"])
    chromium.get(f"{desk.url}/console/ops?event_type=OrderCancelled")
    replay = chromium.find_element(
        By.CSS_SELECTOR, f"form[action='/console/ops/dead-letters/{letter['id']}/replay'] button"
    )
    submit_and_wait(chromium, replay)

    assert "Replayed" in chromium.find_element(By.CSS_SELECTOR, ".notice").text

    def cancelled_in_the_erp() -> bool:
        return any(c.kind == "cancellation" and c.order_id == order_id and c.accepted
                   for c in desk.erp.changes)  # fmt: skip

    wait_for(cancelled_in_the_erp, SETTLE, "the replayed cancellation to reach the ERP")

    def trouble() -> list[tuple[str, str]]:
        told = [(e["source"], e["kind"]) for e in desk.timeline(order_id)
                if e["kind"].startswith("integration.")]  # fmt: skip
        return told if len(told) == 2 else []

    told = wait_for(trouble, SETTLE, "the order's timeline to tell the trouble and its end")
    assert told == [("erp", "integration.dead_lettered"), ("erp", "integration.recovered")]
    replayed = desk.call("ops", "GET", "/v1/ops/dead-letters").json()["items"]
    assert next(d for d in replayed if d["id"] == letter["id"])["replayed_at"] is not None
    chromium.get(f"{desk.url}/console/ops")
    screenshot(chromium, OPS_SCREENSHOT)
