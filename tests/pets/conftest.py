"""Black-box tests of /py/pets, run against a runtime.

Every test here runs on steprunner. A module that sets `RUNTIMES = ("steprunner", "motia")`
runs each of its tests on real Motia 0.17 too (same step files, same assertions; marked
`motia`), so one suite proves both. Where Motia behaves differently the test says so by name.
When Motia is not installed the Motia half is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.motia_server import MotiaUnavailable, start_motia
from tests.support.server import start_server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" in metafunc.fixturenames:
        runtimes = getattr(metafunc.module, "RUNTIMES", ("steprunner",))
        params = [pytest.param(r, id=r, marks=(pytest.mark.motia,) if r == "motia" else ()) for r in runtimes]
        metafunc.parametrize("runtime", params, scope="module")


def start_on(runtime: str, data_dir: Path, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """A ready server of either runtime; both have base_url, data_dir, client(), logs(), stop(), kill()."""
    if runtime == "motia":
        try:
            return start_motia(data_dir, env=env)
        except MotiaUnavailable as exc:
            pytest.skip(str(exc))
    return start_server(data_dir, env=env, **kwargs)


@pytest.fixture
def server_factory(runtime: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Like the top-level `server_factory`, on this module's runtime."""
    servers: list[Any] = []

    def factory(data_dir: Path | None = None, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        server = start_on(runtime, data_dir or tmp_path / f"data{len(servers)}", env=env, **kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


def steprunner_only(runtime: str, why: str) -> None:
    """Skip on Motia, saying which steprunner feature the test needs."""
    if runtime != "steprunner":
        pytest.skip(f"steprunner only: {why}")
