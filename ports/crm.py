"""The CRM port: cases and their comments, keyed by our ids so that retries do not duplicate."""

from __future__ import annotations

from typing import Protocol


class CrmPort(Protocol):
    async def open_case(self, subject: str, description: str, external_id: str) -> str:
        """Create (or find, by `external_id`) a case; returns the CRM's case id."""
        ...

    async def add_case_comment(self, case_id: str, body: str, external_id: str) -> None:
        """Add a comment once per `external_id`."""
        ...

    async def update_case_status(self, case_id: str, status: str) -> None: ...
