"""The pet service's start-up lines, read from a real `python -m steprunner dev`: where its API, flow view and
API docs are, and where its data lives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.server import Server


def test_the_banner_names_the_pets_api_the_flow_view_the_docs_and_the_data_dir(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    logs = server.logs()
    first = logs.splitlines()[: next(i for i, line in enumerate(logs.splitlines()) if " ready " in line)]
    assert first[0].startswith("steprunner: ") and " steps and 1 stream from " in first[0], logs
    assert any(line.startswith(f"  API        {server.base_url}/py/pets  (") for line in first), logs
    assert f"  flow view  {server.base_url}/" in first, logs
    assert f"  API docs   {server.base_url}/docs  (OpenAPI: /openapi.json)" in first, logs
    assert f"  data       {(tmp_path / 'data').resolve()} (DATA_DIR)" in first, logs
