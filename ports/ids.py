"""The id generator port: every new order, return, reservation and event id comes from here."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class IdGenerator(Protocol):
    def new_id(self) -> UUID:
        """A fresh id, never handed out before."""
        ...

    def rma_number(self) -> str:
        """A fresh, human-readable return authorization number."""
        ...
