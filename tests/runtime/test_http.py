"""HTTP behaviour of API steps, through a real server process."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.runtime.support import FIXTURE_ROOT
from tests.support.server import Server, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("http"), env={"STEPRUNNER_MAX_BODY_BYTES": "2048"}, root=FIXTURE_ROOT)
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def assert_error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.json()["message"]
    assert len(response.headers["x-trace-id"]) >= 16


def test_handler_gets_motia_request(client: httpx.Client) -> None:
    r = client.post("/echo/rex?size=big&tag=a&tag=b", json={"x": 1}, headers={"content-type": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "rex"
    assert body["body"] == {"x": 1}
    assert body["query"] == {"size": "big", "tag": ["a", "b"]}
    assert body["rawBody"] == '{"x":1}'
    assert body["traceId"] == r.headers["x-trace-id"]


def test_unknown_route_is_json_404(client: httpx.Client) -> None:
    assert_error(client.get("/nowhere"), 404, "No route for GET /nowhere")


def test_wrong_method_is_json_405(client: httpx.Client) -> None:
    r = client.delete("/echo/rex")
    assert_error(r, 405, "Method DELETE not allowed")
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("body", [b"{bad", b"{\"a\": 1", b"\xff\xfe"])
def test_malformed_json_is_400(client: httpx.Client, body: bytes) -> None:
    assert_error(client.post("/echo/rex", content=body, headers={"content-type": "application/json"}), 400, "not valid JSON")


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    assert_error(client.post("/echo/rex", json={"blob": "x" * 4096}), 413, "larger than 2048 bytes")


def test_body_over_limit_without_content_length_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 512  # streamed: no Content-Length header to check up front

    assert_error(client.post("/echo/rex", content=chunks()), 413, "larger than 2048 bytes")


def test_handler_that_raises_is_500_and_server_keeps_serving(server: Server, client: httpx.Client) -> None:
    r = client.get("/broken/raise")
    assert_error(r, 500, "Internal server error")
    trace = r.headers["x-trace-id"]
    assert r.json()["traceId"] == trace
    logs = server.logs()
    assert "boom from the fixture" in logs and trace[:8] in logs and "Traceback" in logs
    assert client.post("/echo/still", json={}).status_code == 200


def test_handler_without_response_is_500(client: httpx.Client) -> None:
    assert_error(client.get("/broken/none"), 500, "Internal server error")


def test_incoming_trace_id_is_kept(client: httpx.Client) -> None:
    r = client.post("/echo/rex", json={}, headers={"x-trace-id": "abc123abc123abc123"})
    assert r.headers["x-trace-id"] == "abc123abc123abc123"
    assert r.json()["traceId"] == "abc123abc123abc123"


def test_state_is_persisted(client: httpx.Client) -> None:
    first = client.put("/state/pets/k1", json={"v": 1}).json()
    second = client.put("/state/pets/k1", json={"v": 2}).json()
    assert first["previous"] is None
    assert second == {"previous": {"v": 1}, "group": [{"v": 2}]}


@pytest.mark.parametrize("path", ["/__steprunner/health", "/openapi.json", "/nowhere"])
def test_every_response_carries_a_trace_id(client: httpx.Client, path: str) -> None:
    assert len(client.get(path).headers["x-trace-id"]) == 32
