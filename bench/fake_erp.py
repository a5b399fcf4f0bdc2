"""The ERP of the pipeline benchmarks: the contract fake of the adapter's tests
(`tests/integration/adapters/fake_erp.py`: books each order id once, a repeat answers as the
first time, bearer key checked), served by uvicorn in a process of its own, so that its CPU is its
own and can be reported apart from orderhub's.

Two differences from the test fake: it keeps no log of the requests it saw (the bench never reads
it, and it would grow by one entry per call for the whole run), only their count; and
`GET /bench/counts` answers how many requests it served and how many orders it booked, so the
bench can check that the worker really booked every order through the HTTP adapter.

    FAKE_ERP_KEY=secret uvicorn bench.fake_erp:create_app --factory --lifespan off --port 8002
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from bench.processes import PYTHON, Processes, free_port, wait_for
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.scripted import Reply, Seen

#: The bearer key the fake expects, and orderhub's ERP_API_KEY in the benchmarks.
KEY = "bench-erp-key"


class _Counted(list[Seen]):
    """Stands in for the fake's request log: counts what it is given and keeps none of it."""

    count = 0

    def append(self, _: Seen) -> None:
        self.count += 1


class BenchErp(FakeErp):
    routes = [*FakeErp.routes, ("GET", "/bench/counts", "counts")]

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.requests = _Counted()

    def counts(self, _: Seen) -> Reply:
        served = self.requests.count if isinstance(self.requests, _Counted) else 0
        return Reply(200, {"requests": served, "booked": len(self.booked())})


def create_app() -> BenchErp:
    return BenchErp(os.environ.get("FAKE_ERP_KEY", KEY))


def start(procs: Processes, name: str = "fake_erp") -> str:
    """Start the fake ERP as a child process of `procs` (so `CpuMeter` reads its CPU under `name`)
    and point orderhub's later processes at it (ERP_URL, ERP_API_KEY); returns its URL."""
    port = free_port()
    procs.env["FAKE_ERP_KEY"] = KEY
    procs.start(
        name,
        [PYTHON, "-m", "uvicorn", "bench.fake_erp:create_app", "--factory", "--lifespan", "off",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), 60, "the fake ERP")
    procs.env.update({"ERP_URL": url, "ERP_API_KEY": KEY})
    return url


def counts(url: str) -> dict[str, Any]:
    """{"requests": served so far, "booked": orders booked so far}."""
    return dict(httpx.get(url + "/bench/counts", headers=_auth(), timeout=5).json())


def _up(url: str) -> bool:
    try:
        counts(url)
    except httpx.HTTPError:
        return False
    return True


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}
