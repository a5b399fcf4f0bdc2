"""Scenario 4: PostgreSQL restarted once under a steady command load. Requests fail fast (503)
while it is away; the channels retry with the SAME Idempotency-Key until they get a definitive
answer; API, relay and worker recover by themselves. Nothing accepted is lost, nothing is
applied twice.

This restarts the machine's PostgreSQL (a few seconds): it is the one scenario that touches a
shared service, and it restarts it once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.processes import wait_for
from tests.faults.conftest import StackFactory
from tests.faults.load import SteadyLoad
from tests.faults.reconcile import Expect, report, settle

pytestmark = pytest.mark.faults


def postgres_ready() -> bool:
    probe = ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]
    return subprocess.run(probe, check=False).returncode == 0


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    wait_for(postgres_ready, timeout=30, what="PostgreSQL to accept connections")


def test_orders_survive_a_postgres_restart_with_client_retries(make_stack: StackFactory) -> None:
    # A request whose claim committed just before PostgreSQL went away answers 409
    # request_in_progress until its lease runs out (default 30 s): 5 s keeps the run short.
    stack = make_stack(IDEMPOTENCY_LEASE_SECONDS="5")
    with SteadyLoad(stack.url, stack.keys.web, rate=20) as load:
        time.sleep(5)
        started = time.monotonic()
        restart_postgres()
        fault_end = time.monotonic()
        time.sleep(6)
    counts = settle(stack.db_url, Expect(load.operations, erp=stack.erp), since=fault_end)
    retried = sum(1 for op in load.operations if op.transient)
    errors = sorted({e for op in load.operations for e in op.transient})
    report(
        "4 postgres restart",
        counts,
        f"restart took={fault_end - started:.1f}s operations retried={retried} answers seen={errors}",
    )
    assert counts.holds, counts.explain()
    assert counts.undecided == 0
