"""Black-box tests of /py/pets, run against a runtime.

Every test here runs on steprunner. A module that sets `RUNTIMES = ("steprunner", "motia")`
runs each of its tests on real Motia 0.17 too (same step files, same assertions; marked
`motia`), so one suite proves both. Where Motia behaves differently the test says so by name.
When Motia is not installed the Motia half is skipped with the reason.

Those two-runtime modules also run on steprunner in database mode ("steprunner-pg", marked
`postgres`): every data folder a test starts a server on gets a fresh, migrated database of the
session's throwaway cluster (steprunner.testing.postgres), so its pets, journal, state, cron claims,
idempotency keys and streams live in PostgreSQL. Skipped with the reason when PostgreSQL's binaries
are missing; `-m "not postgres"` leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from steprunner.testing.databases import bind, bound_url
from steprunner.testing.postgres import Cluster
from support.motia_server import MotiaUnavailable, start_motia
from tests.support.server import REPO_ROOT, start_server

ON_DATABASE = "steprunner-pg"  # steprunner with DATABASE_URL
MARKS = {"motia": (pytest.mark.motia,), ON_DATABASE: (pytest.mark.postgres,)}

_cluster: list[Cluster] = []  # the session's cluster, once a database-mode module has asked for it
_made: list[str] = []  # the databases of the module running


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" in metafunc.fixturenames:
        runtimes = getattr(metafunc.module, "RUNTIMES", ("steprunner",))
        if "motia" in runtimes:  # the two-runtime modules: steprunner's database mode too
            runtimes = (*runtimes, ON_DATABASE)
        params = [pytest.param(r, id=r, marks=MARKS.get(r, ())) for r in runtimes]
        metafunc.parametrize("runtime", params, scope="module", indirect=True)


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest) -> Iterator[str]:
    """The runtime's id; in database mode, the session's cluster is started first (or the module skips, saying why)."""
    if request.param == ON_DATABASE and not _cluster:
        _cluster.append(request.getfixturevalue("postgres_cluster"))
    yield str(request.param)
    if request.param == ON_DATABASE:
        from steprunner.db.pool import database

        while _made:
            database(_made.pop()).close()  # this process's connections to them (`store_of`)


def start_on(runtime: str, data_dir: Path, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """A ready server of the runtime; every one has base_url, data_dir, client(), logs(), stop(), kill()."""
    if runtime == "motia":
        try:
            return start_motia(data_dir, env=env)
        except MotiaUnavailable as exc:
            pytest.skip(str(exc))
    if runtime == ON_DATABASE and bound_url(data_dir) is None:
        bind(data_dir, migrated_database())
    return start_server(data_dir, env=env, **kwargs)


def migrated_database() -> str:
    """A fresh database of the session's cluster with the service's tables (`db migrate` done)."""
    from steprunner.db.migrate import migrate
    from steprunner.db.pool import database

    url = _cluster[0].create_database()
    migrate(url, REPO_ROOT)
    database(url).close()  # this process's connections: the server has its own
    _made.append(url)
    return url


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


@pytest.fixture(scope="module")
def server(runtime: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One server of the runtime shared by a module's tests (tests that don't depend on each other's pets)."""
    server = start_on(runtime, tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-data"))
    yield server
    server.stop()


@pytest.fixture
def client(server: Any) -> Iterator[httpx.Client]:
    """A client of the module's shared server."""
    with server.client() as client:
        yield client


def steprunner_only(runtime: str, why: str) -> None:
    """Skip on Motia, saying which steprunner feature the test needs (database mode has them all)."""
    if runtime == "motia":
        pytest.skip(f"steprunner only: {why}")


def embedded_only(runtime: str, why: str) -> None:
    """Skip but on steprunner's embedded default (pets.json, steprunner.db), saying what of it the test needs."""
    if runtime != "steprunner":
        pytest.skip(f"steprunner without DATABASE_URL only: {why}")
