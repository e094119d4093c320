"""What stream sockets can cost the pet service (issue 20, items 6-8): numbers for before/after, nothing asserted.

    python bench/stream_floods.py [--root DIR] [--rejected 5000] [--idle 20000] [--posts 200]

Each part on a fresh server (the project at --root, default this checkout; bench/servers.py):
1. POST /py/pets latency (p50, p95, one at a time) with no subscription, then (on another fresh
   server) with `--idle` idle subscriptions to other pets' timelines, spread over sockets of
   1,000 (the per-socket cap).
2. 100 join frames with a 1 MiB stream name on a socket that never reads: server RSS before and
   after, whether the server dropped the socket, the bytes of one answer.
3. One socket (never reading after the joins are answered) asks for 50,000 subscriptions on the
   next pet's timeline, then that pet is created and refused one PUT: the "too far behind" log
   lines and their bytes, and how many subscriptions were accepted.
4. `--rejected` refused PUTs on one pet: the bytes of GET /py/pets/:id/timeline (first answer) and of
   a join's sync of its timeline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH.parent) not in sys.path:
    sys.path.insert(0, str(BENCH.parent))

import httpx  # noqa: E402
import websockets  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.protocol import State  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from bench import servers  # noqa: E402
from steprunner.testing.server import Server  # noqa: E402
from steprunner.testing.waiting import wait_until  # noqa: E402

PER_SOCKET = 1000


def ws_url(server: Server) -> str:
    return server.base_url.replace("http", "ws", 1)


def join(group: str, sub: str, stream: str = "petTimeline") -> str:
    return json.dumps({"type": "join", "data": {"streamName": stream, "groupId": group, "subscriptionId": sub}})


def rss(server: Server) -> float:
    return servers.rss_mb(server.proc.pid, with_children=False)


class Unread:
    """A WebSocket client on a plain socket with a small receive buffer: it reads only when asked to."""

    def __init__(self, server: Server, small_buffer: bool = True) -> None:
        self.protocol = ClientProtocol(parse_uri(ws_url(server)))
        self.sock = socket.socket()
        if small_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", server.port))
        self.protocol.send_request(self.protocol.connect())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.sock.recv(4096))

    def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def read(self, count: int) -> list[str]:
        messages: list[str] = []
        while len(messages) < count:
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionError:
                data = b""
            if not data:
                break  # the server closed it
            self.protocol.receive_data(data)
            frames = [e for e in self.protocol.events_received() if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
            messages += [bytes(f.data).decode() for f in frames]
        return messages

    def closed_by_server(self) -> bool:
        self.sock.settimeout(0.2)
        try:
            while self.sock.recv(1 << 20):
                pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def post_latencies(server: Server, posts: int) -> dict[str, float]:
    times: list[float] = []
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for i in range(posts):
            started = time.perf_counter()
            response = http.post("/py/pets", json={"name": f"P{i}", "species": "dog", "ageMonths": 12})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1)}


async def idle_sockets(server: Server, idle: int) -> list[Any]:
    sockets = []
    for s in range(0, idle, PER_SOCKET):
        ws = await websockets.connect(ws_url(server), max_size=None)
        count = min(PER_SOCKET, idle - s)
        for i in range(count):
            await ws.send(join(f"idle-{s + i}", f"s{i}"))
        for _ in range(count):
            await ws.recv()
        sockets.append(ws)
    return sockets


def part_idle(root: Path, idle: int, posts: int) -> dict[str, Any]:
    """Each line on a fresh server, so both time POSTs into a store of the same size."""
    lines: dict[str, Any] = {}
    for count in (0, idle):
        with tempfile.TemporaryDirectory() as data, servers.steprunner(Path(data), root=root) as server:
            loop = asyncio.new_event_loop()
            sockets = loop.run_until_complete(idle_sockets(server, count))
            lines[f"{count}_idle_subscriptions"] = post_latencies(server, posts)
            for ws in sockets:
                loop.run_until_complete(ws.close())
            loop.close()
    return lines


def part_long_names(root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, servers.steprunner(Path(data), root=root) as server:
        before = rss(server)
        unread = Unread(server)
        name = "x" * (1024 * 1024 - 200)
        sent = 0
        try:
            for i in range(100):
                unread.send(join("g", f"s{i}", stream=name))
                sent += 1
        except ConnectionError:
            pass
        time.sleep(3)  # a benchmark, not a test: let the server answer what it will
        after = rss(server)
        try:
            dropped = wait_until(unread.closed_by_server, 20, "the socket to be dropped")
        except AssertionError:
            dropped = False

        async def one_answer() -> int:
            async with websockets.connect(ws_url(server), max_size=None) as ws:
                await ws.send(join("g", "s", stream=name))
                return len(await ws.recv())

        answer = asyncio.run(one_answer())
    return {
        "frames_sent": sent,
        "rss_before_mib": round(before),
        "rss_after_mib": round(after),
        "dropped": dropped,
        "answer_bytes": answer,
    }


def part_fan_out(root: Path, subscriptions: int = 50_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, servers.steprunner(Path(data), root=root) as server:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            first = http.post("/py/pets", json={"name": "First", "species": "dog", "ageMonths": 12}).json()
            upcoming = str(int(first["id"]) + 1)  # the next pet's timeline, empty until it is created
            unread = Unread(server, small_buffer=False)  # keeps up with the joins' answers, then reads no more
            for i in range(subscriptions):
                unread.send(join(upcoming, f"s{i}"))
            answers = [json.loads(m) for m in unread.read(subscriptions)]
            accepted = sum(a["event"]["type"] == "sync" for a in answers)
            before = len(server.logs())
            pet = http.post("/py/pets", json={"name": "Fan", "species": "dog", "ageMonths": 12}).json()
            http.put(f"/py/pets/{pet['id']}", json={"status": "adopted"})  # refused: one more item
            time.sleep(5)  # the pet's chain adds its items meanwhile
            http.get("/py/pets")
        lines = [line for line in server.logs()[before:].splitlines() if "too far behind" in line]
    return {
        "subscriptions_accepted": accepted,
        "answers_read": len(answers),
        "too_far_behind_lines": len(lines),
        "log_bytes": sum(len(line) + 1 for line in lines),
    }


def part_timeline(root: Path, rejected: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, servers.steprunner(Path(data), root=root) as server:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            pet = http.post("/py/pets", json={"name": "Long", "species": "dog", "ageMonths": 12}).json()
            for _ in range(rejected):
                http.put(f"/py/pets/{pet['id']}", json={"status": "adopted"})
            get_bytes = len(http.get(f"/py/pets/{pet['id']}/timeline").content)

        async def sync_bytes() -> int:
            async with websockets.connect(ws_url(server), max_size=None) as ws:
                await ws.send(join(pet["id"], "s"))
                return len(await ws.recv())

        return {
            "rejected_puts": rejected,
            "get_timeline_bytes": get_bytes,
            "join_sync_bytes": asyncio.run(sync_bytes()),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=servers.REPO, help="the project checkout to run")
    parser.add_argument("--idle", type=int, default=20_000, help="idle subscriptions for part 1")
    parser.add_argument("--posts", type=int, default=200, help="POSTs timed per line of part 1")
    parser.add_argument("--rejected", type=int, default=5000, help="refused PUTs for part 4")
    parser.add_argument("--only", default="idle,names,fan,timeline", help="parts to run")
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    results: dict[str, Any] = {"root": str(args.root.resolve())}
    if "idle" in parts:
        results["post_latency"] = part_idle(args.root, args.idle, args.posts)
        print(json.dumps(results["post_latency"]), flush=True)
    if "names" in parts:
        results["long_names_never_read"] = part_long_names(args.root)
        print(json.dumps(results["long_names_never_read"]), flush=True)
    if "fan" in parts:
        results["fan_out"] = part_fan_out(args.root)
        print(json.dumps(results["fan_out"]), flush=True)
    if "timeline" in parts:
        results["timeline"] = part_timeline(args.root, args.rejected)
        print(json.dumps(results["timeline"]), flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
