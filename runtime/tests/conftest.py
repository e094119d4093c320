"""Fixtures of the runtime's own suite: real server processes on a fixture project, each with its own DATA_DIR,
throwaway PostgreSQL databases (steprunner.testing.pytest_plugin), and asyncio for the in-process tests (anyio's
pytest plugin, `pytest.mark.anyio`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FIXTURE_ROOT

pytest_plugins = ["steprunner.testing.pytest_plugin"]


@pytest.fixture
def project_root() -> Path:
    return FIXTURE_ROOT


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
