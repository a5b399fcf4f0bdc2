"""What every handler receives besides its command and unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from application.settings import HubSettings
from ports.clock import Clock
from ports.ids import IdGenerator


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerContext:
    clock: Clock
    ids: IdGenerator
    settings: HubSettings
