"""Fixtures shared by every test: real server processes, each with its own DATA_DIR."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from steprunner.testing.postgres import Cluster, PostgresUnavailable
from steprunner.testing.waiting import wait_until  # noqa: F401 - re-exported for tests
from tests.support.server import REPO_ROOT, Server, start_server

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"

# The suite runs strict, in this process too (`load_steps` called directly reads it); server
# processes get it from `steprunner.testing.server.base_env`. Tests of the lax default opt out.
os.environ["STEPRUNNER_STRICT"] = "1"
# The suite's stores are its own: a DATABASE_URL in the developer's shell must not send tests (or the
# servers they start, see `base_env`) to that database. Tests on PostgreSQL use `database_url`.
os.environ.pop("DATABASE_URL", None)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start real `python -m steprunner dev` processes; every one is stopped at teardown.

    `server_factory(data_dir=None, env=None, root=REPO_ROOT, args=None, wait=True)`; without a
    data_dir each server gets a fresh folder under the test's tmp_path.
    """
    servers: list[Server] = []

    def factory(
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        root: Path = REPO_ROOT,
        args: list[str] | None = None,
        wait: bool = True,
    ) -> Server:
        server = start_server(data_dir or tmp_path / f"data{len(servers)}", env=env, root=root, args=args, wait=wait)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (steprunner.testing.postgres); skips if not installed."""
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
def database_url(empty_database_url: str) -> str:
    """A fresh database with the service's tables (`db migrate` done), for this test alone."""
    from steprunner.db.migrate import migrate

    migrate(empty_database_url, REPO_ROOT)
    return empty_database_url
