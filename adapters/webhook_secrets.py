"""Webhook signing secrets at rest: encrypted with WEBHOOK_SECRET_KEY (Fernet: AES-128-CBC and
HMAC-SHA256), since the hub must read them back to sign; a hash would not do."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyMissing(Exception):
    """Raised when a secret must be sealed or opened but WEBHOOK_SECRET_KEY is not set."""


class UnreadableSecret(Exception):
    """Raised when a stored secret was sealed with a key that is no longer configured."""


class SecretBox:
    """Seals with the first key, opens with any (so a key is rotated by putting the new one
    first and keeping the old one until every secret was sealed anew)."""

    def __init__(self, keys: str | None) -> None:
        self._fernet = (
            MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",")]) if keys else None
        )

    def __repr__(self) -> str:
        return f"SecretBox(configured={self._fernet is not None})"

    @property
    def configured(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        return self._box().encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._box().decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a webhook secret was sealed with a key WEBHOOK_SECRET_KEY no longer holds"
            ) from None

    def _box(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretKeyMissing("WEBHOOK_SECRET_KEY is not set")
        return self._fernet
