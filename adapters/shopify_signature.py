"""Shopify webhook signatures: base64 HMAC-SHA256 of the raw body, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac


def shopify_hmac(secret: str, raw_body: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends for `raw_body` signed with `secret`."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_shopify_hmac(secret: str | None, raw_body: bytes, header: str | None) -> bool:
    """True only when a secret is configured and `header` is the signature of exactly
    `raw_body` (the bytes as received, before any JSON decoding). Without a secret nothing
    verifies, so an unconfigured endpoint refuses everything."""
    if not secret or not header:
        return False
    expected = shopify_hmac(secret, raw_body).encode("ascii")
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a header may hold anything.
    return hmac.compare_digest(expected, header.encode("utf-8", errors="replace"))
