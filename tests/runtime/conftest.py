"""Runtime tests: in-process ones run on asyncio (anyio's pytest plugin, `pytest.mark.anyio`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
