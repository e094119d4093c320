"""Socket floods against one steprunner server: what a normal client's GETs and POSTs are answered meanwhile.

Three attacks of issue 20, each against a fresh server on the pet service, each held open for
`HOLD_SECONDS` while another client sends `GET /py/pets` and `POST /py/pets` back to back and counts the
answers by status:

- `websockets`: 210 open WebSockets (from one address, the per-client cap raised) at
  STEPRUNNER_LIMIT_CONCURRENCY=200;
- `trickled bodies`: 110 POSTs whose body comes a byte every 0.5 s, at a limit of 100;
- `half-sent upgrade heads`: 110 connections that send part of an upgrade head and wait, at a limit of 100.

Run: `.venv/bin/python -m bench.socket_floods` (prints a Markdown table; the attack's own answers too).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from bench.servers import REPO
from steprunner.testing.server import Server, start_server

HOLD_SECONDS = 8.0
PET = {"name": "Flood", "species": "dog", "ageMonths": 12}


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock


def _status(sock: socket.socket) -> str:
    """The status of whatever the server answered on `sock`, or why there is none."""
    sock.settimeout(2)
    try:
        head = sock.recv(65536)
    except TimeoutError:
        return "no answer"
    except OSError as exc:
        return type(exc).__name__
    return head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "closed"


def websockets(port: int, count: int) -> tuple[list[socket.socket], Callable[[], None]]:
    socks = []
    for _ in range(count):
        sock = _connect(port)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        socks.append(sock)
    return socks, lambda: None


def trickled_bodies(port: int, count: int) -> tuple[list[socket.socket], Callable[[], None]]:
    socks = [_connect(port) for _ in range(count)]
    for sock in socks:
        sock.sendall(
            b"POST /py/pets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n["
        )
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.send(b"1")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    return socks, stop.set


def half_heads(port: int, count: int) -> tuple[list[socket.socket], Callable[[], None]]:
    socks = [_connect(port) for _ in range(count)]
    for sock in socks:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
    return socks, lambda: None


@contextlib.contextmanager
def server(env: dict[str, str]) -> Iterator[Server]:
    data = Path(tempfile.mkdtemp(prefix="bench-floods-"))
    running = start_server(data, root=REPO, env=env)
    try:
        yield running
    finally:
        running.stop()


def run(
    name: str,
    attack: Callable[[int, int], tuple[list[socket.socket], Callable[[], None]]],
    count: int,
    env: dict[str, str],
) -> str:
    with server(env) as running:
        socks, stop = attack(running.port, count)
        gets: Counter[str] = Counter()
        posts: Counter[str] = Counter()
        try:
            with httpx.Client(base_url=running.base_url, timeout=30) as http:
                deadline = time.monotonic() + HOLD_SECONDS
                while time.monotonic() < deadline:
                    gets[str(http.get("/py/pets").status_code)] += 1
                    posts[str(http.post("/py/pets", json=PET).status_code)] += 1
            stop()
            attacked = Counter(_status(sock) for sock in socks)
        finally:
            for sock in socks:
                sock.close()
    show = lambda c: ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))  # noqa: E731
    return f"| {name} | {count} | {show(gets)} | {show(posts)} | {show(attacked)} |"


def main() -> None:
    rows = [
        run(  # all 210 from one address: the per-client cap raised so that every one of them is open
            "websockets",
            websockets,
            210,
            {"STEPRUNNER_LIMIT_CONCURRENCY": "200", "STEPRUNNER_WEBSOCKETS_PER_CLIENT": "1000"},
        ),
        run(
            "trickled bodies",
            trickled_bodies,
            110,
            {"STEPRUNNER_LIMIT_CONCURRENCY": "100", "STEPRUNNER_BODY_TIMEOUT_SECONDS": "5"},
        ),
        run("half-sent upgrade heads", half_heads, 110, {"STEPRUNNER_LIMIT_CONCURRENCY": "100"}),
    ]
    print(f"held {HOLD_SECONDS:g} s each; GET /py/pets and POST /py/pets back to back meanwhile\n")
    print("| attack | sockets | GET answers | POST answers | the attack's sockets, after |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
