"""Orderhub's own webhook signatures: `Orderhub-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` (PRODUCT.md §8.5; receivers' snippets in docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Orderhub-Signature"
EVENT_ID_HEADER = "Orderhub-Event-Id"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver checks: a `v1` that signs exactly `body` with `t`, and `t` within
    `tolerance` seconds of `now` (a replayed old request is refused)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).partition(",v1=")[2]
    return hmac.compare_digest(expected.encode(), parts.get("v1", "").encode())
