"""Fixtures for the stream tests: steprunner servers on the streams fixture project, Motia's Node client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from steprunner.testing.server import Server, start_server
from tests.streams.support import FIXTURE_ROOT, Watcher, client_unavailable_reason, new_watcher


@pytest.fixture(scope="session")
def node_client() -> None:
    """Motia's Node stream client, installed; the test skips with the reason when it cannot be."""
    reason = client_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`servers(env=None, data_dir=tmp_path/"data")`: steprunner on the fixture project; all stopped at teardown."""
    started: list[Server] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None) -> Server:
        server = start_server(data_dir or tmp_path / "data", env=env, root=FIXTURE_ROOT)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def watchers(node_client: None) -> Iterator[Callable[..., Watcher]]:
    """`watchers(base_url, stream, group, item=None, events=("error",), key=None)`: node clients, stopped at
    teardown."""
    started: list[Watcher] = []

    def watch(*args, **kwargs) -> Watcher:  # type: ignore[no-untyped-def]
        watcher = new_watcher(*args, **kwargs)
        started.append(watcher)
        return watcher

    yield watch
    for watcher in started:
        watcher.stop()
