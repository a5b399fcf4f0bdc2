"""A sales channel at a steady, modest rate: places orders with unique Idempotency-Keys, retries
with the SAME key and body until it gets a definitive answer, replays some accepted requests on
purpose, and records every answer for the reconciliation."""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

SKUS = ("FLT-1", "FLT-2", "FLT-3", "FLT-4")
LOCATION = "dc-east"
#: Answers after which the same request must be sent again (same key, same body).
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
#: How long one operation may keep retrying before the client gives up on it (it is then
#: "undecided": the reconciliation looks the order up by its reference).
OPERATION_DEADLINE = 90.0


@dataclass
class Operation:
    """One order a channel tried to place, and everything the API answered about it."""

    key: str
    ref: str
    body: dict[str, Any]
    sent_at: float
    status: int | None = None  #: the definitive answer; None while undecided
    code: str | None = None  #: the problem code of a refusal
    order_id: str | None = None
    tries: int = 0
    transient: list[str] = field(default_factory=list)  #: 5xx, 429, 409 in progress, errors
    order_ids: set[str] = field(default_factory=set)  #: every id a 201 (or a replay) carried
    replays: int = 0  #: answers marked Idempotent-Replayed
    bad_replays: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status == 201


def order_body(ref: str, sku: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "channel_order_ref": ref,
        "customer": {"email": f"{ref.lower()}@example.com", "name": "Fault Tester"},
        "shipping_address": {"name": "Fault Tester", "line1": "1 Main St", "city": "Berlin",
                             "postal_code": "10115", "country": "DE"},
        "currency": "EUR",
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": "10.00"}],
        "payment": {"reference": f"pay-{ref}", "amount": f"{10 * quantity}.00"},
    }  # fmt: skip


class Channel:
    """Places orders one request at a time, as a channel's integration would."""

    def __init__(self, url: str, key: str, prefix: str, replay_share: float = 0.1) -> None:
        self._http = httpx.Client(
            base_url=url, timeout=5.0, headers={"Authorization": f"Bearer {key}"}
        )
        self._prefix = prefix
        self._replay_share = replay_share
        self._rng = random.Random(prefix)
        self._seq = itertools.count(1)

    def new_operation(
        self, sku: str | None = None, ref: str | None = None, quantity: int = 1
    ) -> Operation:
        ref = ref or f"{self._prefix}-{next(self._seq):05d}"
        sku = sku or self._rng.choice(SKUS)
        return Operation(key=str(uuid.uuid4()), ref=ref, body=order_body(ref, sku, quantity),
                         sent_at=time.monotonic())  # fmt: skip

    def place(self, op: Operation, stop_retrying: threading.Event | None = None) -> Operation:
        """Send until a definitive answer or the operation's deadline."""
        deadline = op.sent_at + OPERATION_DEADLINE
        while True:
            op.tries += 1
            outcome = self._send(op)
            if outcome == "definitive":
                break
            if time.monotonic() > deadline or (stop_retrying and stop_retrying.is_set()):
                break
            time.sleep(self._rng.uniform(0.2, 0.8))
        if op.accepted and self._rng.random() < self._replay_share:
            self._replay(op)
        return op

    def _send(self, op: Operation) -> str:
        try:
            answer = self._http.post(
                "/v1/orders", json=op.body, headers={"Idempotency-Key": op.key}
            )
        except httpx.HTTPError as e:
            op.transient.append(type(e).__name__)
            return "again"
        code = _code(answer)
        if answer.status_code in RETRY_STATUSES or code == "request_in_progress":
            op.transient.append(f"{answer.status_code} {code or ''}".strip())
            return "again"
        op.status, op.code = answer.status_code, code
        if answer.status_code == 201:
            op.order_id = answer.json()["id"]
            op.order_ids.add(op.order_id)
            if answer.headers.get("Idempotent-Replayed") == "true":
                op.replays += 1
        return "definitive"

    def _replay(self, op: Operation) -> None:
        """The same request again, on purpose: the stored answer must come back, marked."""
        try:
            answer = self._http.post(
                "/v1/orders", json=op.body, headers={"Idempotency-Key": op.key}
            )
        except httpx.HTTPError:
            return  # a fault under way; the replay is a bonus check, not an operation
        if answer.status_code in RETRY_STATUSES:
            return
        if answer.status_code != 201 or answer.headers.get("Idempotent-Replayed") != "true":
            op.bad_replays.append(
                f"{answer.status_code} {answer.headers.get('Idempotent-Replayed')}"
            )
            return
        op.replays += 1
        op.order_ids.add(answer.json()["id"])

    def close(self) -> None:
        self._http.close()


def _code(answer: httpx.Response) -> str | None:
    if answer.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            return answer.json().get("code")
        except ValueError:
            return None
    return None


class SteadyLoad:
    """`threads` channels placing `rate` orders per second in all, in background threads, until
    `stop()`. A thread whose request is being retried falls behind rather than bursting later."""

    def __init__(self, url: str, key: str, rate: float, threads: int = 4, name: str = "L") -> None:
        self.operations: list[Operation] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = threads / rate
        self._channels = [Channel(url, key, f"{name}{i}") for i in range(threads)]
        self._threads = [
            threading.Thread(target=self._run, args=(c,), daemon=True) for c in self._channels
        ]
        self.started_at = 0.0
        self.stopped_at = 0.0

    def __enter__(self) -> SteadyLoad:
        self.started_at = time.monotonic()
        for i, thread in enumerate(self._threads):
            thread.start()
            time.sleep(self._interval / len(self._threads) * (i + 1) / len(self._threads))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, channel: Channel) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            op = channel.new_operation()
            with self._lock:
                self.operations.append(op)
            channel.place(op)
            next_at = max(next_at + self._interval, time.monotonic() - self._interval)
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self, timeout: float = OPERATION_DEADLINE + 10) -> None:
        """Start no new operation; let the ones under way finish (they are bounded)."""
        if self._stop.is_set():
            return
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        for channel in self._channels:
            channel.close()
        self.stopped_at = time.monotonic()

    def accepted(self) -> int:
        with self._lock:
            return sum(op.accepted for op in self.operations)
