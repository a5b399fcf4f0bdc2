"""Shared fixtures. Unit tests get the hub on in-memory fakes; nothing here touches a server."""

from __future__ import annotations

import pytest

from tests.hub import Hub


@pytest.fixture
def hub() -> Hub:
    return Hub()
