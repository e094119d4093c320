"""Crash recovery: SIGKILL a server mid-burst of creates, restart it, and time until every pet has settled.

    python bench/crash_recovery.py [--database] [--strand] [--kill-after 40] [--deadline 400]

Prints the seconds from the restart (the new process ready) and from the SIGKILL until every pet is
in quarantine with notes, nextFeedingAt and a profile, with the reconciler on its defaults (every
minute, `PET_RECONCILE_GRACE_SECONDS` 120). `--database` runs the node on a throwaway PostgreSQL.
`--strand` makes the SIGKILL land between a create's store write and its journal write (the test-only
`STEPRUNNER_FAULT=kill:py.pet.created`), so at least one pet is stranded whatever the timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from steprunner.testing.postgres import Cluster  # noqa: E402
from steprunner.testing.server import Server, start_server  # noqa: E402

BURST_CLIENTS = 8


def burst(server: Server, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        while not stop.is_set():
            try:
                answer = client.post("/py/pets", json={"name": "Burst", "species": "dog", "ageMonths": 12})
            except httpx.TransportError:
                return
            if answer.status_code != 201:
                return
            acknowledged.append(answer.json()["id"])


def settled(pet: dict[str, Any]) -> bool:
    return (
        pet["status"] == "in_quarantine"
        and bool(pet.get("notes"))
        and bool(pet.get("profile"))
        and pet.get("nextFeedingAt") is not None
    )


def unsettled(server: Server) -> int:
    pets: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        while True:
            page = client.get("/py/pets", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
            pets += page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return sum(1 for pet in pets if not settled(pet))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", action="store_true", help="run the node on a throwaway PostgreSQL")
    parser.add_argument("--kill-after", type=int, default=40, help="creates acknowledged before the SIGKILL")
    parser.add_argument("--deadline", type=float, default=400.0)
    parser.add_argument("--strand", action="store_true", help="SIGKILL between a create's store and journal writes")
    parser.add_argument("--root", type=Path, default=REPO, help="the project to run (another checkout, say)")
    args = parser.parse_args()
    cluster = Cluster() if args.database else None
    env = {"DATABASE_URL": cluster.create_database()} if cluster else {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            fault = {"STEPRUNNER_FAULT": "kill:py.pet.created"} if args.strand else {}
            server = start_server(data_dir, root=args.root, env={**env, **fault})
            stop, acknowledged = threading.Event(), []
            clients = [threading.Thread(target=burst, args=(server, acknowledged, stop)) for _ in range(BURST_CLIENTS)]
            for client in clients:
                client.start()
            if args.strand:
                server.wait_exit(timeout=60)  # the fault killed it at its first create
            else:
                while len(acknowledged) < args.kill_after:
                    time.sleep(0.01)
                server.kill()
            killed = time.monotonic()
            stop.set()
            for client in clients:
                client.join()
            restarted = start_server(data_dir, root=args.root, env=env)
            ready = time.monotonic()
            left = unsettled(restarted)
            while left and time.monotonic() - ready < args.deadline:
                time.sleep(0.5)
                left = unsettled(restarted)
            done = time.monotonic()
            restarted.stop()
            mode = "postgres" if cluster else "embedded"
            state = "every pet settled" if not left else f"{left} pets still unsettled at the deadline"
            print(
                f"{mode}: {len(acknowledged)} creates acknowledged, SIGKILL; {state} "
                f"{done - ready:.1f} s after the restart was ready ({done - killed:.1f} s after the SIGKILL)"
            )
            return 0 if not left else 1
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
