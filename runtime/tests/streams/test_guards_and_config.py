"""Who may open the stream socket (Host, Origin, staff key), what a stream config must be, what `set` accepts."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from steprunner.loader import StepLoadError
from steprunner.streams.config import load_streams
from steprunner.testing.server import Server, run_cli
from tests.streams.support import Watcher, ws_url

KEY = "s3cret-staff-key"


def upgrade_status(server: Server, host: str) -> str:
    """The status line a raw upgrade request with this Host header gets."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        return sock.recv(1024).decode("latin-1").split("\r\n", 1)[0]


def open_socket(url: str, **kwargs: object) -> int | str:
    """101 -> "open" after a join answered with a sync; else the HTTP status of the refusal."""

    async def go() -> int | str:
        try:
            async with websockets.connect(url, open_timeout=10, **kwargs) as ws:  # type: ignore[arg-type]
                await ws.send(
                    json.dumps(
                        {"type": "join", "data": {"streamName": "petStatus", "groupId": "g", "subscriptionId": "s"}}
                    )
                )
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert message["event"] == {"type": "sync", "data": []}
                return "open"
        except InvalidStatus as exc:
            return exc.response.status_code

    return asyncio.run(go())


def test_the_socket_passes_the_host_and_origin_checks(servers: Callable[..., Server]) -> None:
    server = servers()
    assert upgrade_status(server, "evil.example") == "HTTP/1.1 400 Bad Request"  # DNS rebinding
    assert upgrade_status(server, f"127.0.0.1:{server.port}") == "HTTP/1.1 101 Switching Protocols"
    url = ws_url(server.base_url)
    assert open_socket(url, origin="http://evil.example") == 403  # a page elsewhere reading a local server's streams
    assert open_socket(url, origin="http://localhost:5173") == "open"  # a local dev front end
    assert open_socket(url + "/any/path") == "open"  # Motia's server takes the upgrade on any path


def test_with_a_staff_key_the_socket_needs_it(servers: Callable[..., Server], watchers: Callable[..., Watcher]) -> None:
    server = servers(env={"STAFF_API_KEY": KEY})
    url = ws_url(server.base_url)
    assert open_socket(url) == 401
    assert open_socket(url, additional_headers={"Authorization": "Bearer wrong"}) == 401
    assert open_socket(url + "?authToken=wrong") == 401
    assert open_socket(url, additional_headers={"Authorization": f"Bearer {KEY}"}) == "open"
    assert open_socket(url + f"?authToken={KEY}") == "open"
    assert open_socket(url, subprotocols=["Authorization", KEY]) == "open"  # type: ignore[list-item]
    # Motia's Node client can send only subprotocols: `new Stream(url, {protocols: ['Authorization', key]})`
    watchers(server.base_url, "petStatus", "g", key=KEY).wait_synced()


def test_set_checks_the_item_against_the_schema(servers: Callable[..., Server]) -> None:
    server = servers()
    with server.client() as c:
        assert c.put("/streams/g/rex", json={"name": "Rex", "status": "lost"}).status_code == 500
        assert c.put("/streams/g/rex", json={"name": "Rex"}).status_code == 500
        assert c.get("/streams/g/rex").json() == {"item": None}
        ok = c.put("/streams/g/rex", json={"name": "Rex", "status": "pending"})
        assert ok.status_code == 200
        again = c.put(
            "/streams/g/rex", json={**ok.json(), "status": "adopted"}
        )  # a fetched item, `id`/`_createdAt`/`__motia` and all
        assert again.status_code == 200 and again.json()["_createdAt"] == ok.json()["_createdAt"]
    assert 'does not match the stream\'s schema: status: "lost" is not one of' in server.logs()
    assert 'does not match the stream\'s schema: (root): "status" is a required property' in server.logs()


def test_python_api_return_shapes(servers: Callable[..., Server]) -> None:
    server = servers()
    motia = {"type": "state-stream", "streamName": "petStatus", "groupId": "g"}
    with server.client() as c:
        first = c.put("/streams/g/b", json={"name": "B", "status": "pending"}).json()
        assert first == {
            "name": "B",
            "status": "pending",
            "id": "b",
            "_createdAt": first["_createdAt"],
            "__motia": {**motia, "id": "b"},
        }
        c.put("/streams/g/a", json={"name": "A", "status": "pending"})
        assert c.get("/streams/g/b").json() == {"item": first}
        group = c.get("/streams/g").json()
        assert [i["id"] for i in group["items"]] == ["b", "a"] and group["alias"] == group["items"]  # by `_createdAt`
        assert c.delete("/streams/g/b").json() == {"deleted": first}
        assert c.delete("/streams/g/b").json() == {"deleted": None}
        assert c.get("/streams/nobody").json()["items"] == []


def write_project(root: Path, stream_source: str, name: str = "a_stream.py") -> Path:
    (root / "steps").mkdir(parents=True, exist_ok=True)
    (root / "steps" / name).write_text(stream_source)
    return root


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("config = {'schema': {}, 'baseConfig': {'storageType': 'default'}}", "config.name"),
        ("config = {'name': 's', 'schema': {}, 'baseConfig': {'storageType': 'custom'}}", "config.baseConfig"),
        (
            "config = {'name': 's', 'schema': {'type': 'nonsense'}, 'baseConfig': {'storageType': 'default'}}",
            "not a valid JSON Schema",
        ),
        (
            "config = {'name': 's', 'schema': {}, 'baseConfig': {'storageType': 'default'}, 'canAccess': True}",
            "config.canAccess",
        ),
        (
            "config = {'name': 's', 'schema': {}, 'baseConfig': {'storageType': 'default'}, 'syncLimit': 0}",
            "config.syncLimit",
        ),
        ("x = 1", "no `config`"),
    ],
)
def test_a_bad_stream_config_stops_start_up(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(StepLoadError, match="steps/a_stream.py") as caught:
        load_streams(write_project(tmp_path, source))
    assert message in str(caught.value)


def test_two_streams_with_one_name_stop_start_up(tmp_path: Path) -> None:
    config = "config = {'name': 'same', 'schema': {}, 'baseConfig': {'storageType': 'default'}}"
    write_project(tmp_path, config, "a_stream.py")
    write_project(tmp_path, config, "b_stream.py")
    with pytest.raises(StepLoadError, match="stream name 'same' is already used by steps/a_stream.py"):
        load_streams(tmp_path)


def test_the_cli_names_the_bad_stream_file(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", "config = {'name': 's', 'baseConfig': {'storageType': 'custom'}}")
    (project / "steps" / "noop_step.py").write_text(
        "config = {'type': 'noop', 'name': 'N', 'virtualEmits': [], 'virtualSubscribes': []}\n"
    )
    done = run_cli("dev", "--port", "0", data_dir=tmp_path / "data", root=project)
    assert done.returncode == 1
    assert "cannot start: steps/a_stream.py: config.baseConfig" in done.stderr
