"""STAFF_API_KEY: the runtime's own data routes need `Authorization: Bearer <key>`; a server
bound beyond loopback will not start without one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from steprunner.testing.server import run_cli
from tests.inprocess import in_process
from tests.support import FIXTURE_ROOT

KEY = "s3cret-staff-key"
PROTECTED = [
    ("GET", "/__steprunner/flows"),
    ("GET", "/__steprunner/flow?name=fixture"),
    ("GET", "/__steprunner/traces"),
    ("GET", "/__steprunner/traces/abc"),
    ("GET", "/__steprunner/trace-stream"),
    ("PUT", "/__steprunner/positions"),
    ("GET", "/__steprunner/openapi.json"),
    ("GET", "/openapi.json"),
    ("GET", "/__steprunner/nowhere"),
]
PUBLIC = ["/__steprunner/health", "/", "/__steprunner/", "/docs", "/__steprunner/docs", "/__steprunner/static/app.js"]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(FIXTURE_ROOT, tmp_path, staff_api_key=KEY) as c:
        yield c


@pytest.mark.anyio
async def test_data_routes_need_the_key(client: httpx.AsyncClient) -> None:
    for method, path in PROTECTED:
        for headers, message in (
            ({}, "A staff key is required"),
            ({"authorization": "Bearer wrong"}, "Wrong staff key"),
            ({"authorization": f"Basic {KEY}"}, "Wrong staff key"),
        ):
            r = await client.request(
                method, path, headers=headers, json={"flow": "fixture", "file": "x", "x": 1, "y": 1}
            )
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.headers["content-type"] == "application/json" and message in r.json()["message"]
            assert len(r.headers["x-trace-id"]) == 32
    for scheme in ("Bearer", "bearer"):
        r = await client.get("/__steprunner/flows", headers={"authorization": f"{scheme} {KEY}"})
        assert r.status_code == 200 and "fixture" in r.json()["flows"]
    assert (
        (await client.get("/openapi.json", headers={"authorization": f"Bearer {KEY}"}))
        .json()["openapi"]
        .startswith("3.")
    )


@pytest.mark.anyio
async def test_pages_health_and_step_routes_stay_public(client: httpx.AsyncClient) -> None:
    for path in PUBLIC:
        assert (await client.get(path)).status_code == 200, path
    bare = await client.get("/__steprunner")
    assert bare.status_code == 307 and bare.headers["location"] == "/__steprunner/"  # on to the page, no key asked
    health = (await client.get("/__steprunner/health")).json()
    assert health["status"] == "ok" and health["staffKey"] is True  # how the page knows to ask for the key
    assert (await client.post("/echo/rex", json={})).status_code == 200  # API steps guard themselves (Motia middleware)


@pytest.mark.anyio
async def test_without_a_key_nothing_is_asked(tmp_path: Path) -> None:
    async with in_process(FIXTURE_ROOT, tmp_path) as c:
        assert (await c.get("/__steprunner/flows")).status_code == 200
        assert (await c.get("/__steprunner/health")).json()["staffKey"] is False


def test_binding_beyond_loopback_needs_a_key(tmp_path: Path) -> None:
    result = run_cli("dev", "--host", "0.0.0.0", "--port", "0", data_dir=tmp_path, root=FIXTURE_ROOT, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "steprunner: cannot start: HOST=0.0.0.0 would serve the runtime's pages and data to the network without a key: "
        "set STAFF_API_KEY (in the environment or .env), or bind to 127.0.0.1"
    ]


def test_with_a_key_it_binds_beyond_loopback(server_factory, tmp_path: Path) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STAFF_API_KEY": KEY}, args=["--host", "0.0.0.0"])
    with server.client() as c:
        assert c.get("/__steprunner/traces").status_code == 401
        assert c.get("/__steprunner/traces", headers=server.staff_headers).status_code == 200


def test_a_network_bind_refuses_a_short_key_naming_the_minimum(tmp_path: Path) -> None:
    result = run_cli(
        "dev",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        data_dir=tmp_path,
        root=FIXTURE_ROOT,
        env={"STAFF_API_KEY": "k"},
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "steprunner: cannot start: HOST=0.0.0.0 needs a STAFF_API_KEY of at least 16 characters, this one has 1 "
        "(`openssl rand -hex 16` makes one), or bind to 127.0.0.1"
    ]
