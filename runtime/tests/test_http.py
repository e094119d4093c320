"""HTTP behaviour of API steps, in-process (httpx ASGITransport on the runtime's app).

What a handler gets and what the runtime answers does not depend on the server process;
crashes, signals, workers and the CLI have real-process tests elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.inprocess import in_process
from tests.support import FIXTURE_ROOT, assert_json_error

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    async with in_process(FIXTURE_ROOT, tmp_path, max_body_bytes=2048) as c:
        yield c


async def test_handler_gets_motia_request(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo/rex?size=big&tag=a&tag=b", json={"x": 1}, headers={"content-type": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "rex"
    assert body["body"] == {"x": 1}
    assert body["query"] == {"size": "big", "tag": ["a", "b"]}
    assert body["rawBody"] == '{"x":1}'
    assert body["traceId"] == r.headers["x-trace-id"]


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/nowhere"), 404, "No route for GET /nowhere")


async def test_wrong_method_is_json_405(client: httpx.AsyncClient) -> None:
    r = await client.delete("/echo/rex")
    assert_json_error(r, 405, "Method DELETE not allowed")
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize("body", [b"{bad", b'{"a": 1', b"\xff\xfe"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    assert_json_error(
        await client.post("/echo/rex", content=body, headers={"content-type": "application/json"}),
        400,
        "not valid JSON",
    )


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.post("/echo/rex", json={"blob": "x" * 4096}), 413, "larger than 2048 bytes")


async def test_body_over_limit_without_content_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 512  # streamed: no Content-Length header to check up front

    assert_json_error(await client.post("/echo/rex", content=chunks()), 413, "larger than 2048 bytes")


async def test_handler_that_raises_is_500_and_server_keeps_serving(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    r = await client.get("/broken/raise")
    assert_json_error(r, 500, "Internal server error")
    trace = r.headers["x-trace-id"]
    assert r.json()["traceId"] == trace
    logs = capsys.readouterr().out
    assert "boom from the fixture" in logs and trace[:8] in logs and "Traceback" in logs
    assert (await client.post("/echo/still", json={})).status_code == 200


async def test_handler_without_response_is_500(client: httpx.AsyncClient) -> None:
    assert_json_error(await client.get("/broken/none"), 500, "Internal server error")


async def test_incoming_trace_id_is_kept(client: httpx.AsyncClient) -> None:
    r = await client.post("/echo/rex", json={}, headers={"x-trace-id": "abc123abc123abc123"})
    assert r.headers["x-trace-id"] == "abc123abc123abc123"
    assert r.json()["traceId"] == "abc123abc123abc123"


async def test_state_is_persisted(client: httpx.AsyncClient) -> None:
    first = (await client.put("/state/pets/k1", json={"v": 1})).json()
    second = (await client.put("/state/pets/k1", json={"v": 2})).json()
    # Motia 0.17's Python shapes: `get` wraps None and dicts in {"data": ...}; a group (a list) is not wrapped
    assert first["previous"] == {"data": None}
    assert second == {"previous": {"data": {"v": 1}}, "group": [{"v": 2}]}


@pytest.mark.parametrize("path", ["/__steprunner/health", "/openapi.json", "/nowhere"])
async def test_every_response_carries_a_trace_id(client: httpx.AsyncClient, path: str) -> None:
    assert len((await client.get(path)).headers["x-trace-id"]) == 32
