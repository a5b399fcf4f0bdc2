"""The rule for a request whose idempotency key is already taken."""

from __future__ import annotations

from ports.idempotency import Claim, ClaimState, StoredResponse


def verdict(stored: str, asked: str, response: StoredResponse | None) -> Claim:
    """What a request with fingerprint `asked` gets when the key is already taken."""
    if stored != asked:
        return Claim(ClaimState.MISMATCH)
    if response is None:
        return Claim(ClaimState.IN_PROGRESS)
    return Claim(ClaimState.REPLAY, response)
