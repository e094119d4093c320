"""Start and stop the three servers a run compares, each fresh, on its own port and data folder.

steprunner and real Motia are started by the launchers the tests use (`steprunner.testing`, and
support/motia_server.py for Motia), so the benchmark runs exactly what the test suite checks.
The bare Starlette ceiling is
`bench/ceiling_app.py`. `rss_mb` reads the resident memory of a server and its children (the
workers of `--workers N`, Motia's Redis and handler processes) from /proc.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from steprunner.testing.server import Server, free_port, start_server  # noqa: E402
from steprunner.testing.waiting import wait_until  # noqa: E402
from support.motia_server import MotiaServer, MotiaUnavailable, motia_unavailable_reason, start_motia  # noqa: E402

# The server as a user runs it (`make dev`): log level info, journal fsync FULL. Only the lines
# go to a file instead of a terminal.
STEPRUNNER_ENV: dict[str, str] = {}


@contextlib.contextmanager
def steprunner(data_dir: Path, workers: int = 1, ready_timeout: float = 120.0, root: Path = REPO) -> Iterator[Server]:
    """`python -m steprunner dev [--workers N]` on DATA_DIR=data_dir; stopped (Ctrl-C) on exit.

    `root`: another checkout of the project (its steps/ and services/, and its steprunner first on
    PYTHONPATH: runtime/steprunner, or steprunner/ in checkouts from before the move), run with this
    checkout's Python and packages.
    """
    args = ["--workers", str(workers)] if workers > 1 else []
    other = Path(root).resolve()
    path = os.pathsep.join([str(other / "runtime"), str(other)])
    env = STEPRUNNER_ENV if other == REPO else {**STEPRUNNER_ENV, "PYTHONPATH": path}
    server = start_server(data_dir, root=other, env=env, args=args, wait=False)
    try:
        server.wait_ready(timeout=ready_timeout)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def motia(data_dir: Path) -> Iterator[MotiaServer]:
    """Real Motia 0.17 (`motia start`, no Workbench) on a copy of this project's steps.

    Raises MotiaUnavailable (with the reason) when `make motia-install` could not install it.
    """
    server = start_motia(data_dir)
    try:
        yield server
    finally:
        server.stop()


def motia_missing() -> str | None:
    """None when Motia can run here, else why not (for the report's Motia columns)."""
    return motia_unavailable_reason()


class Ceiling:
    """bench/ceiling_app.py in its own process: Starlette + uvicorn, a constant JSON body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "ceiling_app.py"), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self) -> Ceiling:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ceiling app exited with {self.proc.returncode}")
            return httpx.get(f"{self.base_url}/__steprunner/health", timeout=1.0).status_code == 200

        wait_until(ready, timeout=30, message="the Starlette ceiling app")
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@contextlib.contextmanager
def ceiling() -> Iterator[Ceiling]:
    app = Ceiling()
    try:
        yield app.wait_ready()
    finally:
        app.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def pin(pid: int, cores: set[int]) -> None:
    """Keep a server (every thread of it and of its children) on `cores`.

    Section 1 puts the server on core 0 and wrk on core 1: left to the scheduler, the two
    single-threaded processes sometimes share a core, and a run's rate then halves (bench/README.md,
    section 1).
    """
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{current}/task")]
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cores)
            except OSError:
                pass  # a thread that just ended
        todo.extend(_children(current))


def rss_mb(pid: int, with_children: bool = True) -> float:
    """Resident memory (VmRSS) of a process, plus its descendants', in MB."""
    total_kb = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
        if with_children:
            todo.extend(_children(current))
    return total_kb / 1024


__all__ = [
    "Ceiling",
    "MotiaServer",
    "MotiaUnavailable",
    "Server",
    "ceiling",
    "motia",
    "motia_missing",
    "pin",
    "rss_mb",
    "steprunner",
]
