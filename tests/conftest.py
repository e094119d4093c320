"""Fixtures shared by every test: real server processes on the pet service, each with its own DATA_DIR, and
throwaway PostgreSQL databases (steprunner.testing.pytest_plugin, rooted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from steprunner.testing.waiting import wait_until  # noqa: F401 - re-exported for tests
from tests.support.server import REPO_ROOT

pytest_plugins = ["steprunner.testing.pytest_plugin"]

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


@pytest.fixture
def project_root() -> Path:
    return REPO_ROOT
