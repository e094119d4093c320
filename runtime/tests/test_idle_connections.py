"""Connections that never send a whole request neither lock clients out nor stay open for ever."""

from __future__ import annotations

import contextlib
import resource
import socket
from collections.abc import Iterator

import httpx
import pytest

from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT

IDLE = 1100


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False  # still open, nothing to read
    except ConnectionResetError:
        return True


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 256:
        pytest.skip(f"this test opens {count} sockets; the hard limit on open files here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 1024)), hard))  # this test's own sockets
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
        socks[0].sendall(b"GET /__steprunner/health HTTP/1.1\r\nHost: loc")  # half a request head, never finished
        for sock in socks:
            sock.setblocking(False)
        yield socks
    finally:
        for sock in socks:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_thousand_idle_connections_do_not_lock_clients_out(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_HEADER_TIMEOUT_SECONDS": "2"})
    with idle_connections(server.port, IDLE) as socks:
        # a normal client is answered (at once, or once the idle ones are dropped; the deadline is generous)
        answered = wait_until(
            lambda: httpx.get(f"{server.base_url}/__steprunner/health", timeout=10).status_code == 200,
            timeout=90,
            message="a normal request to be answered",
        )
        assert answered
        wait_until(
            lambda: all(closed_by_server(s) for s in socks),
            timeout=90,
            message=f"the server to close {IDLE} idle connections",
        )
    with server.client() as c:
        assert c.post("/echo/after", json={}).status_code == 200


def test_a_huge_request_head_is_refused(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"GET /__steprunner/health HTTP/1.1\r\nHost: localhost\r\nX-Junk: " + b"a" * 100_000 + b"\r\n"
        )  # and never ends
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b'{"message": "Request line and headers are larger than 65536 bytes"}')
    with server.client() as c:
        assert c.get("/__steprunner/health").status_code == 200
