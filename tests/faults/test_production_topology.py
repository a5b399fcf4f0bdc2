"""Scenario 11: the production topology of deploy/compose.yaml run as processes on loopback (PRODUCT.md
§8.7): two API processes behind a round-robin balancer, two relays, two workers, one PostgreSQL
and one Redis. A console session opened on either API process is good on the other; a worker
killed mid-message and a relay killed mid-publish lose nothing and apply nothing twice while the
other of each pair keeps working."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import redis

from tests.faults.conftest import BROKER_URL, Stack, StackFactory, Topology
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, report, settle
from tests.faults.test_relay_killed import kill_mid_publish, relaying
from tests.faults.test_worker_killed import _held, busy, mid_message

pytestmark = pytest.mark.faults

PRODUCTION = Topology(apis=2, relays=2, workers=2)
KILLS = 3


def _signed_in_page(api: str, cookie: str) -> httpx.Response:
    """A search, which only a signed-in session may make (anyone else is sent to sign in)."""
    return httpx.get(
        f"{api}/console/orders",
        params={"q": "nobody@example.com"},
        cookies={"orderhub_console": cookie},
        timeout=10,
    )


def sign_in(api: str, key: str) -> str:
    """Signs in on the console of one API process; returns the session cookie."""
    answer = httpx.post(f"{api}/console/login", data={"key": key}, timeout=10)
    assert answer.status_code == 303, answer.text
    return answer.cookies["orderhub_console"]


def console_sessions_cross_processes(stack: Stack) -> int:
    """Signs in on each API process and reads a signed-in page from every one of them; returns
    how many pages were read signed in."""
    read = 0
    for where in stack.api_urls:
        cookie = sign_in(where, stack.keys.agent)
        for api in stack.api_urls:
            page = _signed_in_page(api, cookie)
            assert page.status_code == 200, (
                f"signed in at {where}, {api} answered {page.status_code}"
            )
            read += 1
    return read


def both_apis_served(stack: Stack) -> str:
    assert stack.balancer is not None
    served = [stack.balancer.served[url] for url in stack.api_urls]
    assert all(served), f"the balancer's requests per API process: {served}"
    return "/".join(map(str, served))


def test_the_production_topology_keeps_console_sessions_and_survives_worker_kills(
    make_stack: StackFactory,
) -> None:
    # The relays' redelivery timeout is the product default, as in scenario 1: it is Dramatiq's
    # heartbeat (here the surviving worker's) that brings a killed worker's messages back.
    stack = make_stack(topology=PRODUCTION, DELIVERY_TIMEOUT_SECONDS="30")
    pages = console_sessions_cross_processes(stack)
    workers = ["worker-1", "worker-2"]
    cut: list[int] = []
    with SteadyLoad(stack.url, stack.keys.web, rate=20) as load:
        for kill in range(KILLS):
            busy(stack.db_url)
            mid_message(stack.db_url)
            victim = workers[kill % 2]
            stack.kill(victim)
            cut.append(asyncio.run(_held(stack.db_url)))  # the survivor's among them
            workers[kill % 2] = stack.start_worker()
        fault_end = time.monotonic()
        time.sleep(3)
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    per_api = both_apis_served(stack)
    report(
        "11 topology 2 API/2 relays/2 workers: worker kill -9 x3",
        counts,
        f"requests per API={per_api} console pages read across processes={pages} "
        f"deliveries held by either worker at each kill={cut}",
    )
    assert counts.holds, counts.explain()


def test_the_production_topology_survives_relay_kills(make_stack: StackFactory) -> None:
    stack = make_stack(topology=PRODUCTION)
    broker = redis.Redis.from_url(BROKER_URL)
    relays = ["relay-1", "relay-2"]
    caught: list[int] = []
    try:
        with SteadyLoad(stack.url, stack.keys.web, rate=20) as load:
            for kill in range(KILLS):
                time.sleep(2)
                caught.append(kill_mid_publish(stack, relays[kill % 2], broker))
                relays[kill % 2] = stack.start_relay()
                relaying(stack)
            fault_end = time.monotonic()
            time.sleep(3)
    finally:
        broker.close()
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    per_api = both_apis_served(stack)
    report(
        "12 topology 2 API/2 relays/2 workers: relay kill -9 x3",
        counts,
        f"requests per API={per_api} published-not-marked events at each kill={caught}",
    )
    assert counts.holds, counts.explain()
    assert sum(caught) > 0, "no kill landed between publishing and marking"
