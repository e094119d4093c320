"""Fixtures for the tests that run this project's steps under real Motia (`-m motia`).

One `motia dev` serves every test of this folder (it takes seconds to start); tests that need
their own data start one with `motia_factory`. When Motia is not installed here, every such test is
skipped with the reason (what is missing, and whether the npm registry answers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.support.motia_server import MotiaServer, MotiaUnavailable, start_motia
from tests.support.server import REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "motia: runs the project's steps under real Motia (npm motia, `make motia-install`)")


def _start_or_skip(data_dir: Path, env: dict[str, str] | None = None, root: Path = REPO_ROOT) -> MotiaServer:
    try:
        return start_motia(data_dir, env=env, root=root)
    except MotiaUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="package")
def motia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotiaServer]:
    """One `motia dev` for the tests of this folder (stopped when they are done), with its own DATA_DIR."""
    server = _start_or_skip(tmp_path_factory.mktemp("motia-data"))
    yield server
    server.stop()


@pytest.fixture
def motia_factory(tmp_path: Path) -> Iterator[Callable[..., MotiaServer]]:
    """Start `motia dev` processes, each on a fresh DATA_DIR (and by default on this project);
    all are stopped at teardown. `motia_factory(env=None, root=REPO_ROOT)`."""
    servers: list[MotiaServer] = []

    def factory(env: dict[str, str] | None = None, root: Path = REPO_ROOT) -> MotiaServer:
        server = _start_or_skip(tmp_path / f"motia{len(servers)}", env=env, root=root)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
