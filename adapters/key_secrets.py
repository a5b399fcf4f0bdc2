"""API key secrets: 256 random bits behind a recognisable prefix, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets

#: Keys are 256 random bits: a plain SHA-256 is enough (no dictionary to guess from).
KEY_PREFIX = "ohk_"


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
