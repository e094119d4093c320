"""What one stream socket may cost the server: queued bytes, subscriptions, names, frames (runtime/docs/streams.md).

Real WebSocket clients against a real server process: `websockets`' own client where the test reads,
and a client on a plain socket (`Unread`) where it must not, so the server's buffers fill as they do
for a peer that stopped reading.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from steprunner.streams.client import MAX_QUEUED_BYTES
from steprunner.streams.hub import MAX_SUBSCRIPTIONS
from steprunner.streams.store import create_tables, group_items, item_set
from steprunner.testing.server import Server
from steprunner.testing.waiting import wait_until
from tests.streams.support import ws_url

MIB = 1024 * 1024
TOO_FAR_BEHIND = "stream client too far behind"


def join(stream: str, group: str, sub: str, item: str | None = None) -> dict[str, Any]:
    data = {"streamName": stream, "groupId": group, "subscriptionId": sub}
    if item is not None:
        data["id"] = item
    return {"type": "join", "data": data}


def rss_mib(server: Server) -> float:
    """The server process's resident set, from /proc."""
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def put_status(client: httpx.Client, group: str, item: str, name: str) -> None:
    response = client.put(f"/streams/{group}/{item}", json={"name": name, "status": "available"})
    assert response.status_code == 200, response.text


class Unread:
    """A WebSocket client on a plain socket with a small receive buffer, that reads nothing unless told to."""

    def __init__(self, server: Server) -> None:
        self.protocol = ClientProtocol(parse_uri(ws_url(server.base_url)))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", server.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.sock.recv(4096))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc

    def _flush(self) -> None:
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def read_messages(self, count: int) -> list[str]:
        """Read until `count` messages have come (then read nothing more)."""
        messages: list[str] = []
        while len(messages) < count:
            self.protocol.receive_data(self.sock.recv(1 << 16))
            frames = [e for e in self.protocol.events_received() if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
            messages += [bytes(f.data).decode() for f in frames]
        return messages

    def closed_by_server(self) -> bool:
        """Read what is there; True once the server has closed or reset the connection."""
        self.sock.settimeout(0.2)
        try:
            while chunk := self.sock.recv(1 << 20):
                del chunk
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True  # EOF

    def close(self) -> None:
        self.sock.close()


def test_a_client_that_never_reads_is_dropped_past_its_bound_and_the_server_stays_small(
    servers: Callable[..., Server],
) -> None:
    server = servers()
    with server.client() as http:
        for i in range(10):  # a group of 1 MiB: each join of it is answered with a 1 MiB sync
            put_status(http, "big", f"i{i}", "x" * (MIB // 10))
    before = rss_mib(server)
    unread = Unread(server)
    try:
        for _ in range(100):  # 100 MiB of answers, were they all queued
            try:
                unread.send(join("petStatus", "big", "s"))
            except ConnectionError:
                break  # dropped already
        wait_until(unread.closed_by_server, 30, "the server to drop the client that does not read")
    finally:
        unread.close()
    assert server.logs().count(TOO_FAR_BEHIND) == 1
    grown = rss_mib(server) - before
    assert grown < 3 * MAX_QUEUED_BYTES / MIB + 24, f"RSS grew by {grown:.0f} MiB"
    with server.client() as http:
        assert http.get("/streams/big/i0").status_code == 200, "the server still answers"


def test_one_change_to_a_slow_client_with_many_subscriptions_logs_one_line(servers: Callable[..., Server]) -> None:
    server = servers()
    unread = Unread(server)
    try:
        for i in range(2 * MAX_SUBSCRIPTIONS):  # half of them refused (the cap), the rest all on one group
            unread.send(join("petStatus", "fan", f"s{i}"))
        unread.read_messages(2 * MAX_SUBSCRIPTIONS)  # every join answered; from here on it reads nothing
        with server.client() as http:
            put_status(http, "fan", "a", "x" * 20_000)  # 1,000 copies of 20 kB: past the client's bound
            wait_until(lambda: TOO_FAR_BEHIND in server.logs(), 30, "the slow client to be dropped")
            assert http.get("/streams/fan/a").status_code == 200  # the fan-out ran whole before this is answered
        assert server.logs().count(TOO_FAR_BEHIND) == 1
    finally:
        unread.close()


def test_subscriptions_past_the_cap_are_refused_with_a_clear_error(servers: Callable[..., Server]) -> None:
    server = servers()

    async def go() -> None:
        async with websockets.connect(ws_url(server.base_url), open_timeout=10, max_size=None) as ws:
            for i in range(MAX_SUBSCRIPTIONS):
                await ws.send(json.dumps(join("petStatus", f"g{i}", f"s{i}")))
            for _ in range(MAX_SUBSCRIPTIONS):
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["event"]["type"] == "sync"
            await ws.send(json.dumps(join("petStatus", "one-more", "s-more")))
            refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert refused["event"]["event"]["type"] == "error"
            error = refused["event"]["event"]["data"]
            assert error["code"] == "STREAM_TOO_MANY_SUBSCRIPTIONS"
            assert f"{MAX_SUBSCRIPTIONS} subscriptions" in error["message"]
            await ws.send(json.dumps(join("petStatus", "g0", "s0")))  # a repeated id is not one more
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["event"]["type"] == "sync"
            await ws.send(
                json.dumps(
                    {"type": "leave", "data": {"streamName": "petStatus", "groupId": "g1", "subscriptionId": "s1"}}
                )
            )
            await ws.send(json.dumps(join("petStatus", "one-more", "s-more")))  # room again after a leave
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["event"]["type"] == "sync"

    asyncio.run(go())


def test_a_repeated_subscription_id_gets_each_message_once(servers: Callable[..., Server]) -> None:
    server = servers()

    async def go() -> list[dict[str, Any]]:
        async with websockets.connect(ws_url(server.base_url), open_timeout=10) as ws:
            for _ in range(2):
                await ws.send(json.dumps(join("petStatus", "g", "same")))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["event"]["type"] == "sync"
            with server.client() as http:
                await asyncio.to_thread(put_status, http, "g", "a", "Rex")
                await asyncio.to_thread(put_status, http, "g", "b", "Tom")
            seen: list[dict[str, Any]] = []
            while not any(m.get("id") == "b" for m in seen):
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return seen

    seen = asyncio.run(go())
    assert [m["id"] for m in seen] == ["a", "b"], seen


def test_a_long_name_is_answered_short(servers: Callable[..., Server]) -> None:
    server = servers()

    async def answer(message: dict[str, Any]) -> str:
        async with websockets.connect(ws_url(server.base_url), open_timeout=10, max_size=None) as ws:
            await ws.send(json.dumps(message))
            text = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(text, str)
            return text

    long = "x" * 200_000
    for message in (join(long, "g", "s"), join("petStatus", long, "s"), join("petStatus", "g", "s", long)):
        text = asyncio.run(answer(message))
        assert len(text) < 1000, f"{len(text)} characters"
        assert json.loads(text)["event"]["event"]["data"]["code"] == "STREAM_BAD_MESSAGE"
    unknown = json.loads(asyncio.run(answer(join("noSuchStream", "g", "s"))))  # a short name: Motia's answer
    assert unknown["streamName"] == "noSuchStream"
    assert unknown["event"]["event"]["data"]["message"] == "Stream noSuchStream not found"


def test_a_deeply_nested_frame_closes_the_socket_cleanly(servers: Callable[..., Server]) -> None:
    server = servers()

    async def go() -> int | None:
        async with websockets.connect(ws_url(server.base_url), open_timeout=10) as ws:
            await ws.send("[" * 100_000)
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
            return None

    assert asyncio.run(go()) == 1007
    with server.client() as http:
        assert http.get("/streams/g/none").status_code == 200  # still serving
    logs = server.logs()
    assert "Traceback" not in logs and "RecursionError" not in logs, logs[-2000:]
    assert "not JSON (or nested too deep)" in logs


def test_a_group_sync_carries_the_newest_items_oldest_first() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    create_tables(conn)
    for i in range(5):
        item_set(conn, "s", "g", f"i{i}", {"id": f"i{i}", "_createdAt": 1000 + i})
    assert [i["id"] for i in group_items(conn, "s", "g", 3)] == ["i2", "i3", "i4"]
    assert [i["id"] for i in group_items(conn, "s", "g")] == ["i0", "i1", "i2", "i3", "i4"]
