"""A slow model and a huge answer (issue 20, items 1 and 9): what the service does meanwhile, in numbers.

    .venv/bin/python bench/slow_model.py                    # this checkout's service
    .venv/bin/python bench/slow_model.py --root /work/main  # another checkout's, on this runtime

1. PostgreSQL mode (a throwaway cluster), the default pool, 4 new pets whose model calls the fake
   OpenAI server holds: idle-in-transaction backends holding locks, lock waits, a POST's and a
   PUT's status and latency, and how many pets reach in_quarantine while the calls are held.
2. The embedded default, one pet whose model answers 300 MB: the server's peak RSS over its RSS
   before, the slowest GET of the pet meanwhile, and the timeline item the pet gets.

Numbers, not a test: nothing here passes or fails (tests/pets/test_slow_model_on_postgres.py and
tests/pets/test_ai_enrichment.py hold the bounds).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from steprunner.db.migrate import migrate  # noqa: E402
from steprunner.testing.postgres import Cluster  # noqa: E402
from steprunner.testing.waiting import wait_until  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402
from tests.support.server import REPO_ROOT, start_server  # noqa: E402

IDLE_HOLDING_LOCKS = (
    "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.granted"
    " WHERE a.state LIKE 'idle in transaction%' AND a.pid <> pg_backend_pid()"
)
LOCK_WAITS = "SELECT count(*) FROM pg_locks WHERE NOT granted"


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def timed(call: Callable[[], httpx.Response]) -> tuple[int, float]:
    """The answer's status and how long it took, in ms."""
    started = time.monotonic()
    response = call()
    return response.status_code, (time.monotonic() - started) * 1000


def slow_model_on_postgres(root: Path, fake: FakeOpenAI) -> str:
    cluster = Cluster()
    try:
        url = cluster.create_database()
        migrate(url, root)
        fake.reset()
        fake.mode, fake.slow_seconds = "slow", 60
        env = {
            "DATABASE_URL": url,
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_TIMEOUT_SECONDS": "45",
            "OPENAI_MAX_RETRIES": "0",
        }
        server = start_server(Path(tempfile.mkdtemp()), env=env, root=root)
        try:
            with server.client(timeout=60) as http, psycopg.connect(url, autocommit=True) as db:
                pets = [
                    http.post("/py/pets", json={"name": f"P{n}", "species": "dog", "ageMonths": 3}).json()
                    for n in range(4)
                ]
                wait_until(lambda: len(fake.requests) >= 4, timeout=30, message="4 model calls held")
                time.sleep(1)  # a measurement, not a test: let the chain reach whatever it waits on
                idle, waits = [(db.execute(q).fetchone() or (0,))[0] for q in (IDLE_HOLDING_LOCKS, LOCK_WAITS)]
                post = timed(lambda: http.post("/py/pets", json={"name": "Late", "species": "cat", "ageMonths": 3}))
                put = timed(lambda: http.put(f"/py/pets/{pets[0]['id']}", json={"name": "Renamed"}))
                deadline = time.monotonic() + 15
                quarantined = 0
                while time.monotonic() < deadline and quarantined < len(pets):
                    statuses = [http.get(f"/py/pets/{p['id']}").json()["status"] for p in pets]
                    quarantined = statuses.count("in_quarantine")
                    time.sleep(0.1)
        finally:
            fake.release_slow_requests()
            server.stop()
    finally:
        cluster.stop()
    return (
        f"slow model on PostgreSQL: {idle} idle-in-transaction holding locks, {waits} lock waits; "
        f"POST {post[0]} in {post[1]:.0f} ms, PUT {put[0]} in {put[1]:.0f} ms; "
        f"{quarantined}/4 in_quarantine within 15 s while the calls are held"
    )


def huge_answer(root: Path, fake: FakeOpenAI) -> str:
    fake.reset()
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_TIMEOUT_SECONDS": "40",
        "OPENAI_MAX_RETRIES": "0",
    }
    server = start_server(Path(tempfile.mkdtemp()), env=env, root=root)
    pid = server.proc.pid
    try:
        with server.client(timeout=60) as http:
            warm = http.post("/py/pets", json={"name": "Luna", "species": "cat", "ageMonths": 3}).json()
            wait_until(lambda: http.get(f"/py/pets/{warm['id']}").json().get("profile"), message="a first profile")
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak RSS starts again from now
            before = kib(pid, "VmRSS")
            fake.mode = "huge"
            pet = http.post("/py/pets", json={"name": "Max", "species": "dog", "ageMonths": 3}).json()
            slowest, started = 0.0, time.monotonic()
            while time.monotonic() - started < 60:
                status, ms = timed(lambda: http.get(f"/py/pets/{pet['id']}"))
                slowest = max(slowest, ms)
                if http.get(f"/py/pets/{pet['id']}").json().get("profile"):
                    break
                time.sleep(0.02)
            took = time.monotonic() - started
            kinds = [item["kind"] for item in http.get(f"/py/pets/{pet['id']}/timeline").json()["items"]]
        peak, now = kib(pid, "VmHWM"), kib(pid, "VmRSS")
    finally:
        server.stop()
    return (
        f"300 MB answer: RSS before {before / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB "
        f"(+{(peak - before) / 1024:.0f} MiB), after {now / 1024:.0f} MiB; slowest GET {slowest:.0f} ms; "
        f"profile after {took:.1f} s; last timeline item {kinds[-1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout whose service is measured")
    args = parser.parse_args()
    fake = FakeOpenAI().start()
    try:
        print(slow_model_on_postgres(args.root.resolve(), fake), flush=True)
        print(huge_answer(args.root.resolve(), fake), flush=True)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
