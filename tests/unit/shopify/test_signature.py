"""The X-Shopify-Hmac-Sha256 check: base64 HMAC-SHA256 of the raw body, nothing without a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from adapters.shopify_signature import shopify_hmac, verify_shopify_hmac
from tests.unit.shopify.payloads import body, shopify_order

SECRET = "shpss_0123456789abcdef0123456789abcdef"
RAW = body(shopify_order())


def signed(raw: bytes, secret: str = SECRET) -> str:
    """Computed here the way Shopify documents it, independently of the adapter."""
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def test_the_signature_of_the_raw_body_verifies() -> None:
    assert verify_shopify_hmac(SECRET, RAW, signed(RAW))


def test_the_adapter_signs_as_shopify_does() -> None:
    assert shopify_hmac(SECRET, RAW) == signed(RAW)


def test_a_tampered_body_does_not_verify() -> None:
    tampered = RAW.replace(b'"451.99"', b'"0.01"')
    assert tampered != RAW
    assert not verify_shopify_hmac(SECRET, tampered, signed(RAW))


def test_the_same_json_serialised_differently_does_not_verify() -> None:
    """Why the endpoint must check the bytes as received, never a re-encoded decoded body."""
    reserialised = json.dumps(json.loads(RAW), indent=2).encode()
    assert not verify_shopify_hmac(SECRET, reserialised, signed(RAW))


def test_a_signature_made_with_another_secret_does_not_verify() -> None:
    assert not verify_shopify_hmac(SECRET, RAW, signed(RAW, "someone-elses-secret"))


def test_a_hex_digest_is_not_the_base64_signature_shopify_sends() -> None:
    hex_digest = hmac.new(SECRET.encode(), RAW, hashlib.sha256).hexdigest()
    assert not verify_shopify_hmac(SECRET, RAW, hex_digest)


def test_a_missing_or_empty_header_does_not_verify() -> None:
    assert not verify_shopify_hmac(SECRET, RAW, None)
    assert not verify_shopify_hmac(SECRET, RAW, "")


def test_a_header_that_is_not_ascii_is_refused_without_an_error() -> None:
    assert not verify_shopify_hmac(SECRET, RAW, "sïgnature\udcff")


def test_nothing_verifies_without_a_configured_secret() -> None:
    assert not verify_shopify_hmac(None, RAW, signed(RAW, ""))
    assert not verify_shopify_hmac("", RAW, signed(RAW, ""))
