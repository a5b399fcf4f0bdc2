"""A POS's receiver of orderhub's events, as a channel's engineer might write it (standard library
only): catch up through the feed from the last cursor it kept, then take webhooks, verifying each
signature and dropping any event it already has.

    POS_KEY=ohk_… WEBHOOK_SECRET=… python pos_receiver.py --hub http://127.0.0.1:8000 \
        --port 9100 --state ./pos-state.json --types OrderBooked,ShipmentDispatched,RefundIssued

State (the feed cursor and the ids of the events it has) is kept in `--state`, so a restart
resumes where the last run stopped: events missed while it was down come from the feed; webhooks
that the hub sends late, after its outage, are recognised by `Orderhub-Event-Id` and ignored.
While it runs, it moves its cursor past every page of the feed whose events it already has
(a checkpoint every second), so a restart reads only what it may have missed. `--types` are the
event types it subscribed to: the feed is read with the same filter.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


def verify(secret: str, signature_header: str, raw_body: bytes, tolerance: int = 300) -> bool:
    """docs/webhooks.md's snippet."""
    parts = dict(p.split("=", 1) for p in signature_header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class State:
    def __init__(self, path: Path) -> None:
        self.path = path
        saved = json.loads(path.read_text()) if path.exists() else {}
        self.cursor: str | None = saved.get("cursor")
        self.seen: set[str] = set(saved.get("seen", []))
        self.lock = threading.Lock()

    def save(self) -> None:
        with self.lock:
            text = json.dumps({"cursor": self.cursor, "seen": sorted(self.seen)})
        self.path.write_text(text)


def read_feed(hub: str, key: str, types: str, cursor: str | None) -> dict:
    query = f"?limit=100&types={types}" + (f"&after={cursor}" if cursor else "")
    request = urllib.request.Request(
        f"{hub}/v1/events{query}", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def describe(event: dict) -> str:
    payload = event.get("payload") or {}
    extra = ""
    if "status" in payload or "order_status" in payload:
        extra = f" status={payload.get('order_status') or payload.get('status')}"
    if payload.get("tracking_number"):
        extra += f" tracking={payload['tracking_number']}"
    if payload.get("amount") is not None:
        extra += f" amount={payload['amount']}"
    return (
        f"{event['event_type']:<20} order {event['aggregate_id'][:8]} "
        f"v{event['aggregate_version']}{extra}"
    )


def say(text: str) -> None:
    print(text, flush=True)


def catch_up(hub: str, key: str, types: str, state: State) -> None:
    """Read the feed from the kept cursor until a page comes back empty."""
    say(f"catching up from {'the start' if state.cursor is None else 'cursor ' + state.cursor}")
    read = 0
    while True:
        page = read_feed(hub, key, types, state.cursor)
        for event in page["items"]:
            read += 1
            if event["event_id"] in state.seen:
                say(f"  feed     (already had) {describe(event)}")
            else:
                say(f"  feed     {describe(event)}")
                state.seen.add(event["event_id"])
        state.cursor = page["next_cursor"]
        state.save()
        if not page["items"]:
            say(f"caught up: {read} events read; cursor {state.cursor}")
            return


def checkpoint(hub: str, key: str, types: str, state: State, stop: threading.Event) -> None:
    """Every second, move the cursor past the pages whose events are all here already."""
    while not stop.wait(1.0):
        try:
            while True:
                page = read_feed(hub, key, types, state.cursor)
                with state.lock:
                    if not {e["event_id"] for e in page["items"]} <= state.seen:
                        break  # an event not here yet: its webhook is on its way
                    state.cursor = page["next_cursor"]
                state.save()
                if not page["items"]:
                    break
        except OSError as e:  # the hub is away: try again at the next checkpoint
            say(f"  checkpoint failed: {e}")


def serve(port: int, secret: str, state: State, stop: threading.Event) -> None:
    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not verify(secret, self.headers.get("Orderhub-Signature", ""), body):
                say("  webhook  REFUSED: the signature does not verify")
                self.send_response(401)
                self.end_headers()
                return
            event = json.loads(body)
            event_id = self.headers.get("Orderhub-Event-Id", "")
            with state.lock:
                duplicate = event_id in state.seen
                state.seen.add(event_id)
            if duplicate:
                say(f"  webhook  (duplicate, ignored) {describe(event)}")
            else:
                say(f"  webhook  signature ok  {describe(event)}")
                state.save()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    def stopping(*_: object) -> None:
        stop.set()
        state.save()
        say(f"stopping; cursor kept: {state.cursor}")
        sys.exit(0)

    server = HTTPServer(("127.0.0.1", port), Webhook)
    signal.signal(signal.SIGTERM, stopping)
    say(f"listening on http://127.0.0.1:{port}/orderhub")
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hub", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--types", required=True, help="comma-separated event types")
    args = parser.parse_args()
    state = State(args.state)
    key = os.environ["POS_KEY"]
    catch_up(args.hub, key, args.types, state)
    stop = threading.Event()
    threading.Thread(
        target=checkpoint, args=(args.hub, key, args.types, state, stop), daemon=True
    ).start()
    serve(args.port, os.environ["WEBHOOK_SECRET"], state, stop)


if __name__ == "__main__":
    main()
