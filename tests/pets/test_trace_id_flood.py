"""A caller's `x-trace-id` names its trace only when it is fit: 1 to 64 characters of `A-Z a-z 0-9 . _ : -`.

Anything else (60 KB of letters, spaces, bytes beyond ASCII, an empty value) is replaced by a
generated id, the answer says so in `x-trace-id-replaced`, and a flood of such GETs leaves the
server's memory where it was: the ids it would have kept in its traces are never kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.server import Server

GENERATED = re.compile(r"[0-9a-f]{32}")
FLOOD = 3000  # GETs with a 60 KB id: on a server that keeps them, about 170 MiB more
HUGE = 60 * 1024
MiB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def test_a_fit_trace_id_is_kept_and_any_other_is_replaced_saying_so(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        for fit in ("4bf92f3577b34da6a3ce929d0e0e4736", "req-7.retry_2:a", "x" * 64):
            answer = client.get("/py/pets", headers={"x-trace-id": fit})
            assert answer.status_code == 200 and answer.headers["x-trace-id"] == fit
            assert "x-trace-id-replaced" not in answer.headers
        for unfit in ("x" * 65, "a" * HUGE, "two words", "<script>", b"caf\xc3\xa9", b"\xff\xfe", ""):
            answer = client.get("/py/pets", headers={"x-trace-id": unfit})
            assert answer.status_code == 200
            assert GENERATED.fullmatch(answer.headers["x-trace-id"]), answer.headers["x-trace-id"][:80]
            assert "replaced" in answer.headers["x-trace-id-replaced"]
        assert "x-trace-id-replaced" not in client.get("/py/pets").headers  # none sent: one is made, as ever


def test_a_flood_of_huge_trace_ids_leaves_the_server_memory_bounded(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        for _ in range(200):  # warm up: the first requests allocate what every later one reuses
            assert client.get("/py/pets").status_code == 200
    before = rss_bytes(server.proc.pid)

    def get_many(worker: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for n in range(FLOOD // 4):
                trace_id = f"{worker}-{n}-".ljust(HUGE, "z")  # each one different, as an attacker's would be
                assert client.get("/py/pets", headers={"x-trace-id": trace_id}).status_code == 200
        return FLOOD // 4

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(get_many, range(4))) == FLOOD
    grown = rss_bytes(server.proc.pid) - before
    print(
        f"RSS {before / MiB:.0f} MiB before {FLOOD} GETs with {HUGE // 1024} KB trace ids, +{grown / MiB:.0f} MiB after"
    )
    assert grown < 48 * MiB, f"the server grew by {grown / MiB:.0f} MiB"
