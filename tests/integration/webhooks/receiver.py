"""A real HTTP receiver of orderhub's webhooks, in the test process, on loopback: it verifies
each signature, and can be stopped (connection refused), restarted on the same port, or told to
answer a status."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from adapters.webhook_signature import verify


@dataclass(frozen=True)
class Received:
    path: str
    event_id: str  #: the Orderhub-Event-Id header
    signed: bool  #: the signature verified with the subscription's secret
    envelope: dict[str, Any]


@dataclass
class Receiver:
    """Every POST it acknowledged with 2xx, in arrival order, and how many it turned away."""

    secrets: dict[str, str] = field(default_factory=dict)  #: path → secret
    answers: dict[str, int] = field(default_factory=dict)  #: path → status (default 200)
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.answers.get(self.path, 200)
                if 200 <= status < 300:
                    secret = receiver.secrets.get(self.path, "")
                    header = self.headers.get("Orderhub-Signature", "")
                    signed = verify(secret, header, body, int(time.time()))
                    with receiver._lock:
                        receiver.received.append(
                            Received(
                                self.path,
                                self.headers.get("Orderhub-Event-Id", ""),
                                signed,
                                json.loads(body),
                            )
                        )
                else:
                    with receiver._lock:
                        receiver.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until `start` again."""
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def events(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]
