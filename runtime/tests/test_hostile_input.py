"""Hostile or careless requests get a clean JSON answer with a trace id; nothing leaks.

In-process (httpx ASGITransport on the runtime's app): what is under test is what the HTTP
layer answers, not the server process.
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
    async with in_process(FIXTURE_ROOT, tmp_path, max_body_bytes=200_000) as c:
        yield c


async def test_deeply_nested_json_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    body = b"[" * 100_000  # within the 200,000-byte limit; json.loads would hit RecursionError
    r = await client.post("/echo/rex", content=body, headers={"content-type": "application/json"})
    assert_json_error(r, 400, "not valid JSON: nested too deeply")
    assert (await client.post("/echo/rex", json={"still": "serving"})).status_code == 200


REFUSED_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonp",
    "text/json",
]
TAKEN_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/merge-patch+json",
    "application/vnd.api+json",
]


async def test_only_a_body_declared_json_is_taken(client: httpx.AsyncClient) -> None:
    for content_type in REFUSED_TYPES:
        headers = {"content-type": content_type} if content_type else {}
        r = await client.post("/echo/rex", content=b'{"x": 1}', headers=headers)
        assert_json_error(r, 415, "send `Content-Type: application/json`")
    for content_type in TAKEN_TYPES:
        r = await client.post("/echo/rex", content=b'{"x": 1}', headers={"content-type": content_type})
        assert r.status_code == 200 and r.json()["body"] == {"x": 1}, (content_type, r.text)
    no_body = await client.post("/echo/rex", headers={"content-type": "text/plain"})  # no body: no type needed
    assert no_body.status_code == 200 and no_body.json()["body"] is None


async def test_only_loopback_names_are_served_by_default(client: httpx.AsyncClient) -> None:
    for host in ("evil.example", "evil.example:3000", "127.0.0.1.evil.example", "localhost.evil.example"):
        for path in ("/echo/rex", "/__steprunner/flows", "/__steprunner/flows/"):
            assert_json_error(await client.get(path, headers={"host": host}), 400, "Invalid Host header")
    for host in ("localhost", "localhost:3000", "127.0.0.1:3000", "[::1]:3000", "LOCALHOST:8080"):
        assert (await client.get("/__steprunner/flows", headers={"host": host})).status_code == 200, host


async def test_allowed_hosts_adds_names_and_star_allows_any(tmp_path: Path) -> None:
    async with in_process(FIXTURE_ROOT, tmp_path, allowed_hosts=("pets.example",)) as c:
        assert (await c.get("/__steprunner/flows", headers={"host": "pets.example"})).status_code == 200
        assert (await c.get("/__steprunner/flows", headers={"host": "localhost"})).status_code == 200
        assert (await c.get("/__steprunner/flows", headers={"host": "other.example"})).status_code == 400
    async with in_process(FIXTURE_ROOT, tmp_path, allowed_hosts=("*",)) as c:
        r = await c.get("/__steprunner/flows/?x=1", headers={"host": "evil.example"})
        assert r.status_code == 307
        assert r.headers["location"] == "/__steprunner/flows?x=1"  # relative: the foreign Host is not echoed
        assert len(r.headers["x-trace-id"]) == 32


async def test_trailing_slash_redirect_never_leaves_the_server(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json/", headers={"host": "localhost:3000"})
    assert r.status_code == 307 and r.headers["location"] == "/openapi.json"
    request = client.build_request("GET", "/")
    request.url = request.url.copy_with(raw_path=b"//evil.example/")
    assert_json_error(await client.send(request), 404, "No route")  # never `Location: //evil.example`


@pytest.mark.parametrize("chunked", [False, True])
async def test_internal_routes_refuse_large_bodies(client: httpx.AsyncClient, chunked: bool) -> None:
    big = b'{"flow": "fixture", "file": "' + b"x" * 100_000 + b'", "x": 1, "y": 2}'

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096]

    r = await client.put(
        "/__steprunner/positions", content=stream() if chunked else big, headers={"content-type": "application/json"}
    )
    assert_json_error(r, 413, "larger than 65536 bytes")
    small = await client.put("/__steprunner/positions", json={"flow": "nope", "file": "x", "x": 1, "y": 2})
    assert_json_error(small, 404, "No flow named 'nope'")  # a small body still reaches the route


async def test_traces_show_tracebacks_only_when_bound_to_loopback(tmp_path: Path) -> None:
    for host, shown in (("127.0.0.1", True), ("0.0.0.0", False)):
        async with in_process(FIXTURE_ROOT, tmp_path, host=host, staff_api_key="k") as c:
            auth = {"authorization": "Bearer k"}
            for how in ("raise", "raise-long"):  # long: a traceback the view cuts to its field limit
                failed = await c.get(f"/broken/{how}")
                assert_json_error(failed, 500, "Internal server error")
                detail = (await c.get(f"/__steprunner/traces/{failed.headers['x-trace-id']}", headers=auth)).text
                assert "boom from the fixture" in detail
                assert ("Traceback" in detail) is shown, how
                assert (str(FIXTURE_ROOT) in detail) is shown, how
