"""Fixtures for the tests that run this project's steps under real Motia (`-m motia`).

One `motia dev` serves the whole session (it takes seconds to start); tests that need their
own data start one with `motia_factory`. When Motia is not installed here, every such test is
skipped with the reason (what is missing, and whether the npm registry answers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.support.motia_server import MotiaServer, MotiaUnavailable, start_motia


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "motia: runs the project's steps under real Motia (npm motia, `make motia-install`)")


def _start_or_skip(data_dir: Path, env: dict[str, str] | None = None) -> MotiaServer:
    try:
        return start_motia(data_dir, env=env)
    except MotiaUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def motia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotiaServer]:
    """A `motia dev` on the project root shared by the session, with its own DATA_DIR."""
    server = _start_or_skip(tmp_path_factory.mktemp("motia-data"))
    yield server
    server.stop()


@pytest.fixture
def motia_factory(tmp_path: Path) -> Iterator[Callable[..., MotiaServer]]:
    """Start `motia dev` processes with a fresh DATA_DIR each; all are stopped at teardown."""
    servers: list[MotiaServer] = []

    def factory(env: dict[str, str] | None = None) -> MotiaServer:
        server = _start_or_skip(tmp_path / f"motia{len(servers)}", env=env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
