"""Driving the console in headless Debian Chromium: start it, sign in, click and wait, and take
whole-page screenshots. The browser talks to 127.0.0.1 only. Needs
`apt-get install -y chromium chromium-driver`."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: A laptop screen.
WINDOW = (1440, 900)
#: Every wait on the browser is bounded by this many seconds.
WAIT = 15


def browser_in(profile: Path) -> Iterator[WebDriver]:
    """A headless Chromium with its own profile directory, quit when the iterator ends."""
    install = "the console tests drive Debian's Chromium: apt-get install -y chromium chromium-driver"  # fmt: skip
    assert CHROMIUM.exists(), install
    assert CHROMEDRIVER.exists(), install
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--disable-default-apps", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def on_a_settled_page(action: Callable[[], None]) -> None:
    """Run a find-type-click `action`, again from the start when Chromium says the element
    belongs to a document that a late navigation replaced meanwhile (nothing was clicked then)."""
    for attempt in range(3):
        try:
            action()
            return
        except (StaleElementReferenceException, WebDriverException) as e:
            replaced = isinstance(e, StaleElementReferenceException) or (
                "does not belong to the document" in str(e)
            )
            if not replaced or attempt == 2:
                raise


def sign_in(browser: WebDriver, url: str, key: str) -> None:
    """Sign in on the console at `url` (the hub's base URL) with `key`, signed out first."""

    def attempt() -> None:
        # Signed out for sure: a previous test's last answer may have set its cookie again
        # after the fixture cleared them.
        browser.get(f"{url}/console")
        browser.delete_all_cookies()
        browser.get(f"{url}/console")
        WebDriverWait(browser, WAIT).until(
            lambda b: b.find_elements(By.ID, "key"),
            message=f"no sign-in form at /console; the page was: {browser.page_source[:2000]}",
        )
        browser.find_element(By.ID, "key").send_keys(key)
        submit_and_wait(
            browser, browser.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button")
        )

    on_a_settled_page(attempt)


def submit_and_wait(browser: WebDriver, button: WebElement) -> None:
    """Click, then wait until the next page has replaced this one."""
    button.click()
    WebDriverWait(browser, WAIT).until(lambda _: _replaced(button))
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def screenshot(browser: WebDriver, path: Path) -> None:
    """The page at the window's width, top to bottom, as a PNG; written to `path` (the docs'
    pictures) only when `ORDERHUB_SCREENSHOTS=1`, so that a test run leaves the tree as it was."""
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG"), "the browser returned no picture"
    if os.environ.get("ORDERHUB_SCREENSHOTS") == "1":
        path.write_bytes(png)


def _replaced(element: WebElement) -> bool:
    """Whether the page holding `element` is gone. Chromium says so in one of two ways: the
    element is stale, or (asked mid-navigation) its node "does not belong to the document"."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise
    return False
