"""Fixtures for the tests that run this project's steps under real Motia (`-m motia`).

`motia` is one Motia runtime (`motia start`, no Workbench) for every test of this folder: it
takes seconds to start. `motia_factory` starts more, each on fresh data (and, with `root=`, on
another project such as the runtime tests' fixture). `motia_workbench` is `motia dev` with its
Workbench, in the project folder, as `make workbench` runs it. When Motia is not installed
here, every such test is skipped with the reason (what is missing, whether npm answers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.motia_server import MotiaServer, MotiaUnavailable, start_motia
from tests.support.server import REPO_ROOT


def _start_or_skip(
    data_dir: Path, env: dict[str, str] | None = None, root: Path = REPO_ROOT, workbench: bool = False
) -> MotiaServer:
    try:
        return start_motia(data_dir, env=env, root=root, workbench=workbench)
    except MotiaUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="package")
def motia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotiaServer]:
    """One Motia for the tests of this folder (stopped when they are done), with its own DATA_DIR."""
    server = _start_or_skip(tmp_path_factory.mktemp("motia-data"))
    yield server
    server.stop()


@pytest.fixture
def motia_workbench(tmp_path: Path) -> Iterator[MotiaServer]:
    """`motia dev` with the Workbench, on the project folder itself and a fresh DATA_DIR.

    The Workbench saves node positions to motia-workbench.json when it moves nodes (once seen
    re-laying out the whole flow on a busy machine); a test must not leave the repository
    changed, so the file is put back as it was.
    """
    layout = REPO_ROOT / "motia-workbench.json"
    saved = layout.read_bytes()
    server = _start_or_skip(tmp_path / "motia-dev", workbench=True)
    try:
        yield server
    finally:
        server.stop()
        if layout.read_bytes() != saved:
            layout.write_bytes(saved)


@pytest.fixture
def motia_factory(tmp_path: Path) -> Iterator[Callable[..., MotiaServer]]:
    """Start Motia processes, each on a fresh DATA_DIR; all are stopped at teardown.

    `motia_factory(env=None, root=REPO_ROOT)`: a project other than this one is run from a copy
    that borrows this one's node_modules/, python_modules/ and motia.config.ts.
    """
    servers: list[MotiaServer] = []

    def factory(env: dict[str, str] | None = None, root: Path = REPO_ROOT) -> MotiaServer:
        server = _start_or_skip(tmp_path / f"motia{len(servers)}", env=env, root=root)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
