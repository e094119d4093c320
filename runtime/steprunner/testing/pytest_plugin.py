"""pytest fixtures for a project's tests on steprunner: server processes and throwaway PostgreSQL databases.

Load it with `pytest_plugins = ["steprunner.testing.pytest_plugin"]` in the suite's top conftest and
override `project_root` there; everything else follows from it. Loading it also makes the suite strict
(`STEPRUNNER_STRICT=1`) and drops a DATABASE_URL from the developer's shell, so no test reaches a
database it was not given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from steprunner.testing.postgres import Cluster, PostgresUnavailable
from steprunner.testing.server import Server, start_server

os.environ["STEPRUNNER_STRICT"] = "1"  # in this process too: `load_steps` called directly reads it
os.environ.pop("DATABASE_URL", None)  # tests on PostgreSQL use `database_url`


@pytest.fixture
def project_root() -> Path:
    """The project the servers run (override it in the suite's conftest); the current folder by default."""
    return Path.cwd()


@pytest.fixture
def server_factory(tmp_path: Path, project_root: Path) -> Iterator[Callable[..., Server]]:
    """Start real `steprunner dev` processes; every one is stopped at teardown.

    `server_factory(data_dir=None, env=None, root=project_root, args=None, wait=True)`; without a
    data_dir each server gets a fresh folder under the test's tmp_path.
    """
    servers: list[Server] = []

    def factory(
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        root: Path = project_root,
        args: list[str] | None = None,
        wait: bool = True,
    ) -> Server:
        server = start_server(data_dir or tmp_path / f"data{len(servers)}", root=root, env=env, args=args, wait=wait)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session; skips, saying why, if PostgreSQL is not installed."""
    try:
        cluster = Cluster()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def empty_database_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database of its own for this test."""
    from steprunner.db.pool import database

    url = postgres_cluster.create_database()
    yield url
    database(url).close()  # this process's connections to it


@pytest.fixture
def database_url(empty_database_url: str, project_root: Path) -> str:
    """A fresh database with the project's tables (`db migrate` done), for this test alone."""
    from steprunner.db.migrate import migrate

    migrate(empty_database_url, project_root)
    return empty_database_url
