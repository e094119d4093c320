"""Clients that hold sockets open do not take HTTP away from the others: WebSockets have their own caps
(past them an upgrade is refused, 429 or 503), a body that does not arrive in time gets 408, and half-sent
request heads count toward nothing. Every attack here stays open while normal requests are checked."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from steprunner.testing.server import Server
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT

LIMIT = 10  # STEPRUNNER_LIMIT_CONCURRENCY in these tests: each attack holds more sockets than that
ATTACKERS = LIMIT + 5


def connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the server from `source` (any address of 127.0.0.0/8: another client)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def read_head(sock: socket.socket) -> bytes:
    """The answer's status line and headers (and whatever of the body came with them)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def upgrade(server: Server, source: str) -> tuple[socket.socket, bytes]:
    """A WebSocket upgrade from `source`: the socket and the server's answer head."""
    sock = connect(server, source)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock, read_head(sock)


def http_keeps_answering(server: Server) -> None:
    """A GET and a POST from another client are answered as if nothing else were going on."""
    with server.client(timeout=30) as http:
        assert http.get("/__steprunner/health").status_code == 200
        answer = http.post("/echo/meanwhile", json={"n": 1})
        assert answer.status_code == 200, answer.text
        assert answer.json()["body"] == {"n": 1}


@contextlib.contextmanager
def closing_all(socks: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_websockets_have_their_own_caps_and_never_refuse_http(server_factory: Any) -> None:
    per_client, overall = 5, 3 * 5 + 1
    server = server_factory(
        root=FIXTURE_ROOT,
        env={
            "STEPRUNNER_LIMIT_CONCURRENCY": str(LIMIT),
            "STEPRUNNER_WEBSOCKETS_PER_CLIENT": str(per_client),
            "STEPRUNNER_WEBSOCKETS_MAX": str(overall),
        },
    )
    with closing_all([]) as socks:
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            for _ in range(per_client):
                sock, head = upgrade(server, source)
                socks.append(sock)
                assert status_of(head) == 101, head
        assert len(socks) > LIMIT  # more WebSockets open than HTTP requests may run at once

        sock, head = upgrade(server, "127.0.0.2")  # one more from a client at its cap
        socks.append(sock)
        assert status_of(head) == 429, head
        assert b"retry-after: 1\r\n" in head.lower(), head
        assert b"STEPRUNNER_WEBSOCKETS_PER_CLIENT" in head + read_all(sock)

        sock, head = upgrade(server, "127.0.0.5")  # another client takes the last place
        socks.append(sock)
        assert status_of(head) == 101, head
        sock, head = upgrade(server, "127.0.0.6")  # a new client, but the process holds its overall cap
        socks.append(sock)
        assert status_of(head) == 503, head
        assert b"retry-after: 1\r\n" in head.lower(), head
        refusal = json.loads((head + read_all(sock)).partition(b"\r\n\r\n")[2])
        assert refusal["message"].startswith("The server holds its limit"), refusal

        http_keeps_answering(server)

        socks[0].close()  # a socket of 127.0.0.2 goes away: that client (or another) may open one again

        def reopened() -> bool:
            sock, head = upgrade(server, "127.0.0.2")
            socks.append(sock)
            return status_of(head) == 101

        wait_until(reopened, timeout=30, message="an upgrade to be accepted once a socket closed")


def test_a_body_that_does_not_arrive_in_time_gets_408_and_takes_no_place(server_factory: Any) -> None:
    server = server_factory(
        root=FIXTURE_ROOT,
        env={"STEPRUNNER_LIMIT_CONCURRENCY": str(LIMIT), "STEPRUNNER_BODY_TIMEOUT_SECONDS": "3"},
    )
    stop = threading.Event()
    with closing_all([connect(server, "127.0.0.2") for _ in range(ATTACKERS)]) as socks:
        for sock in socks:
            sock.sendall(
                b"POST /echo/slow HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n["
            )

        def trickle() -> None:  # one byte to each socket, again and again, until they are answered
            for _ in range(1000):
                if stop.wait(0.2):
                    return
                for sock in socks:
                    with contextlib.suppress(OSError):
                        sock.send(b"1")

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            http_keeps_answering(server)  # while every trickled body is still on its way
            for sock in socks:
                answer = read_all(sock)  # the server answers, then closes the connection
                assert status_of(answer) == 408, answer[:300]
                body = json.loads(answer.partition(b"\r\n\r\n")[2])
                assert "did not arrive within 3 s" in body["message"], body
        finally:
            stop.set()
            trickler.join()
    http_keeps_answering(server)


def test_half_sent_upgrade_heads_take_nothing_from_other_clients(server_factory: Any) -> None:
    server = server_factory(
        root=FIXTURE_ROOT,
        env={"STEPRUNNER_LIMIT_CONCURRENCY": str(LIMIT), "STEPRUNNER_HEADER_TIMEOUT_SECONDS": "120"},
    )
    with closing_all([connect(server, "127.0.0.2") for _ in range(ATTACKERS)]) as socks:
        for sock in socks:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        http_keeps_answering(server)
