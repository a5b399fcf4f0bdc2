"""The agent console in a real browser (headless Debian Chromium): sign in, search, read an order.

The data is what `orderhub demo` leaves behind: orders delivered, returned and refunded. The
browser talks to 127.0.0.1 only. Needs `apt-get install -y chromium chromium-driver`.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import (
    WINDOW,
    browser_in,
    on_a_settled_page,
    screenshot,
    sign_in,
    submit_and_wait,
)
from tests.e2e.processes import ORDERHUB, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "console-order.png"


@dataclass(frozen=True)
class Console:
    url: str
    agent_key: str
    channel_key: str

    def api(self, path: str, **params: Any) -> Any:
        answer = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.agent_key}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


def _key(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [ORDERHUB, "keys", "create", *args], env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The demo's day played into a throwaway SQLite file, then the API with the console on it."""
    tmp = tmp_path_factory.mktemp("console")
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/demo.db"}
    day = subprocess.run(
        [ORDERHUB, "demo", "--orders", "30", "--no-serve", "--fresh"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert day.returncode == 0, day.stdout[-3000:] + day.stderr[-3000:]
    port = free_port()
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        [ORDERHUB, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: server.poll() is not None or _ready(url), timeout=30, what="the API")
        assert server.poll() is None, (tmp / "server.log").read_text(errors="replace")
        yield Console(url, _key(env, "--role", "agent"), _key(env, "--role", "channel", "--channel", "web"))  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    yield from browser_in(tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture
def browser(chromium: WebDriver, console: Console) -> WebDriver:
    """The shared browser, signed out: each test starts from the sign-in page."""
    chromium.get(f"{console.url}/console")
    chromium.delete_all_cookies()
    chromium.set_window_size(*WINDOW)
    return chromium


def search(browser: WebDriver, text: str) -> None:
    def attempt() -> None:
        box = browser.find_element(By.ID, "q")
        box.clear()
        box.send_keys(text)
        submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form.search button"))

    on_a_settled_page(attempt)


def _texts(browser: WebDriver, css: str) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, css)]


def _refunded_order(console: Console) -> dict[str, Any]:
    orders: list[dict[str, Any]] = console.api("/v1/orders", limit=500)["items"]
    refunded = [
        o for o in orders
        if o["returns"] and o["status"] == "delivered" and o["payment"]["refunded"] != "0.00"
    ]  # fmt: skip
    assert refunded, "the demo day left an order with a refunded return"
    return refunded[0]


def test_an_agent_finds_a_customers_order_and_reads_its_story(
    browser: WebDriver, console: Console
) -> None:
    wanted = _refunded_order(console)
    sign_in(browser, console.url, console.agent_key)
    assert browser.find_elements(By.ID, "q"), "signed in, the search box is there"

    search(browser, wanted["customer"]["email"].upper())  # agents type emails any which way
    link = browser.find_element(By.CSS_SELECTOR, f"a[href='/console/orders/{wanted['id']}']")
    assert link.text == wanted["channel_order_ref"]
    submit_and_wait(browser, link)

    assert wanted["channel_order_ref"] in browser.find_element(By.TAG_NAME, "h1").text
    kinds = [
        e.get_attribute("data-kind") for e in browser.find_elements(By.CSS_SELECTOR, ".timeline li")
    ]
    titles = _texts(browser, ".timeline .title")
    assert kinds[0] == "order.placed"
    assert titles[0].startswith(f"Order {wanted['channel_order_ref']} placed on")
    assert kinds.index("shipment.dispatched") < kinds.index("shipment.delivered")
    assert kinds.index("shipment.delivered") < kinds.index("return.requested")
    assert kinds.index("return.requested") < kinds.index("refund.issued")
    assert all(t.strip() for t in titles), "every entry reads as a sentence"
    assert len(_texts(browser, ".timeline .source")) == len(kinds)

    returns = _texts(browser, ".returns .return")
    assert len(returns) == len(wanted["returns"])
    refunded_return = next(r for r in returns if "Refunded" in r)
    assert "RMA" in refunded_return
    refunds = _texts(browser, ".returns .refund")
    assert any(r.endswith(wanted["currency"]) for r in refunds)
    payment = browser.find_element(By.CSS_SELECTOR, ".amounts").text
    assert f"Refunded\n{wanted['payment']['refunded']} {wanted['currency']}" in payment

    screenshot(browser, SCREENSHOT)

    search(browser, wanted["channel_order_ref"])
    assert browser.find_elements(By.CSS_SELECTOR, f"a[href='/console/orders/{wanted['id']}']")


def test_a_wrong_key_stays_on_the_sign_in_page_with_an_error(
    browser: WebDriver, console: Console
) -> None:
    sign_in(browser, console.url, "ohk_not-a-key-anyone-was-given")
    assert "not known" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert browser.find_elements(By.ID, "key"), "still the sign-in form"
    assert not browser.find_elements(By.ID, "q")
    assert not browser.get_cookies()


def test_a_channel_key_cannot_sign_in(browser: WebDriver, console: Console) -> None:
    sign_in(browser, console.url, console.channel_key)
    assert (
        "channel key cannot sign in" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    )
    assert browser.find_elements(By.ID, "key")
    assert not browser.get_cookies()


def test_signed_out_pages_lead_back_to_the_sign_in(browser: WebDriver, console: Console) -> None:
    order_id = _refunded_order(console)["id"]
    for path in (f"/console/orders/{order_id}", "/console/orders?q=someone%40example.com"):
        browser.get(f"{console.url}{path}")
        assert browser.current_url == f"{console.url}/console"
        assert browser.find_elements(By.ID, "key")

    sign_in(browser, console.url, console.agent_key)
    cookie = browser.get_cookie("orderhub_console")
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert console.agent_key not in cookie["value"]
    browser.get(f"{console.url}/console/orders/{order_id}")
    assert browser.find_elements(By.CSS_SELECTOR, ".timeline li")

    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".sign-out button"))
    browser.get(f"{console.url}/console/orders/{order_id}")
    assert browser.current_url == f"{console.url}/console"

    # The old session id is dead on the server too, not only forgotten by this browser.
    stale = httpx.get(
        f"{console.url}/console/orders/{order_id}",
        cookies={"orderhub_console": cookie["value"]},
        follow_redirects=False,
    )
    assert (stale.status_code, stale.headers["location"]) == (303, "/console")


def test_a_customer_name_is_shown_as_text_never_run_as_markup(
    browser: WebDriver, console: Console
) -> None:
    name = "<script>alert(1)</script>"
    placed = httpx.post(
        f"{console.url}/v1/orders",
        headers={"Authorization": f"Bearer {console.agent_key}", "Idempotency-Key": str(uuid4())},
        json={
            "channel": "web", "channel_order_ref": f"XSS-{uuid4().hex[:8]}",
            "customer": {"email": "mallory@example.com", "name": name},
            "shipping_address": {"name": name, "line1": '"><img src=x>', "city": "Berlin",
                                 "postal_code": "10115", "country": "DE"},
            "currency": "EUR", "lines": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "9.00"}],
            "payment": {"reference": "pay-xss", "amount": "9.00"}, "allow_backorder": True,
        },
        timeout=10,
    )  # fmt: skip
    assert placed.status_code == 201, placed.text

    sign_in(browser, console.url, console.agent_key)
    browser.get(f"{console.url}/console/orders/{placed.json()['id']}")

    assert browser.find_element(By.CSS_SELECTOR, ".customer-name").text == name
    assert '"><img src=x>' in browser.find_element(By.CSS_SELECTOR, ".cards").text
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is how Selenium looks for one
