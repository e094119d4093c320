"""Staff only: with STAFF_API_KEY set, changing a pet takes `Authorization: Bearer <key>`;
reading the shelter's pets stays public. The check is Motia middleware in the step files."""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from tests.support.server import Server

KEY = "s3cret-staff-key"
STAFF = {"Authorization": f"Bearer {KEY}"}
BUDDY = {"name": "Buddy", "species": "dog", "ageMonths": 24}
RUNTIMES = ("steprunner", "motia")  # the check is Motia middleware: real Motia enforces it too


def test_every_change_needs_the_key_and_reads_stay_public(server_factory: Callable[..., Server]) -> None:
    server = server_factory(env={"STAFF_API_KEY": KEY})
    with server.client() as client:
        for attempt in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            refused = client.post("/py/pets", json=BUDDY, headers=attempt)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"].startswith("Bearer")
        created = client.post("/py/pets", json=BUDDY, headers=STAFF)
        assert created.status_code == 201
        pet_id = created.json()["id"]

        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}).status_code == 401
        assert client.delete(f"/py/pets/{pet_id}").status_code == 401
        assert client.post(f"/py/pets/{pet_id}/restore").status_code == 401
        assert client.get(f"/py/pets/{pet_id}").json()["name"] == "Buddy", "refused changes changed nothing"
        assert client.get("/py/pets").status_code == 200

        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}, headers=STAFF).status_code == 200
        assert client.delete(f"/py/pets/{pet_id}", headers=STAFF).status_code == 202
        assert client.post(f"/py/pets/{pet_id}/restore", headers=STAFF).status_code == 200


NON_ASCII_KEY = "clé-du-refuge-été-2026"  # Latin-1 can hold it, so a client could send either encoding


def test_a_non_ascii_key_is_its_utf8_bytes_on_every_guarded_route(
    runtime: str, server_factory: Callable[..., Server]
) -> None:
    """One rule everywhere: the key's UTF-8 bytes, in the header as on `?authToken=`; its Latin-1 bytes are refused."""
    server = server_factory(env={"STAFF_API_KEY": NON_ASCII_KEY})
    utf8 = {"Authorization": b"Bearer " + NON_ASCII_KEY.encode("utf-8")}
    latin1 = {"Authorization": b"Bearer " + NON_ASCII_KEY.encode("latin-1")}
    with server.client() as client:
        assert client.post("/py/pets", json=BUDDY, headers=latin1).status_code == 401
        created = client.post("/py/pets", json=BUDDY, headers=utf8)
        assert created.status_code == 201, created.text
        pet_id = created.json()["id"]
        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}, headers=latin1).status_code == 401
        assert client.put(f"/py/pets/{pet_id}", json={"name": "Max"}, headers=utf8).status_code == 200
        if runtime == "motia":
            return  # the runtime's own routes and sockets below are steprunner's
        assert client.get("/__steprunner/traces", headers=latin1).status_code == 401
        assert client.get("/__steprunner/traces", headers=utf8).status_code == 200
    socket_url = server.base_url.replace("http://", "ws://") + "/"
    assert socket_status(socket_url, headers=latin1) == 401
    assert socket_status(socket_url, headers=utf8) == 101
    assert socket_status(socket_url + "?authToken=" + quote(NON_ASCII_KEY.encode("latin-1"))) == 401
    assert socket_status(socket_url + "?authToken=" + quote(NON_ASCII_KEY)) == 101  # encodeURIComponent's UTF-8


def socket_status(url: str, headers: dict[str, bytes] | None = None) -> int:
    """The status a WebSocket upgrade to `url` is answered with (101 when it is accepted)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    ).encode()
    for name, value in (headers or {}).items():
        head += name.encode() + b": " + value + b"\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head + b"\r\n")
        status_line = sock.recv(1024).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])
