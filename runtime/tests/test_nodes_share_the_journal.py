"""Several steprunner nodes, each with its own DATA_DIR, sharing one journal on PostgreSQL (DATABASE_URL).

What an operator running several machines sees: pending events are shared out among the nodes
and each runs once; a node that dies mid-burst has its claimed events finished by another after
its heartbeat lapses (no pid check: that works on one host only); each cron tick runs on one node;
the `events` CLI lists and replays dead letters from the database, from any machine. The fixture
steps record what they did in their node's DATA_DIR (records.jsonl); the tests add them up.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

from steprunner.testing.server import Server, run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

EVERY_SECOND = {"STEPRUNNER_CRON_TICK": "* * * * * *"}


def start_nodes(
    server_factory: Any, tmp_path: Path, url: str, count: int, env: dict[str, str] | None = None
) -> list[Server]:
    nodes = [
        server_factory(tmp_path / f"node-{n}", root=FIXTURE_ROOT, env={"DATABASE_URL": url, **(env or {})}, wait=False)
        for n in range(count)
    ]
    for node in nodes:
        node.wait_ready()
    return nodes


def emit_pending(url: str, tmp_path: Path, topic: str, data: str, count: int) -> None:
    """Journal `count` events (each with a `seq`) from a CLI on a machine of its own: no node ran them yet."""
    done = run_cli(
        "emit",
        topic,
        data,
        "--count",
        str(count),
        "--no-run",
        data_dir=tmp_path / "cli",
        env={"DATABASE_URL": url},
        root=FIXTURE_ROOT,
    )
    assert done.returncode == 0, done.stderr


def claims(url: str) -> Counter[str]:
    """Running deliveries, per node holding them."""
    with psycopg.connect(url) as conn:
        return Counter(
            owner for (owner,) in conn.execute("SELECT lease_owner FROM steprunner_deliveries WHERE status = 'claimed'")
        )


def journal_empty(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM steprunner_deliveries").fetchone() == (0,)


def done_seqs(nodes: list[Server]) -> Counter[int]:
    return Counter(r["seq"] for node in nodes for r in records(node.data_dir, "work"))


def test_three_nodes_share_pending_events_and_run_each_once(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    """Each node runs at most 4 handlers at once, so 20 held events must be spread over all three."""
    nodes = start_nodes(server_factory, tmp_path, database_url, 3, env={"STEPRUNNER_MAX_HANDLERS": "4"})
    emit_pending(database_url, tmp_path, "t.work", '{"gate": "go"}', 20)
    wait_until(
        lambda: sorted(claims(database_url).values()) == [4, 4, 4],
        timeout=30,
        message="every node running 4 (woken by NOTIFY)",
    )
    for node in nodes:
        (node.data_dir / "go").touch()  # the handlers finish
    wait_until(lambda: sum(done_seqs(nodes).values()) >= 20, timeout=60, message="all 20 events handled")
    assert done_seqs(nodes) == Counter(range(20)), "each event handled once, by one node"
    assert all(len(records(node.data_dir, "work")) >= 4 for node in nodes)
    wait_until(lambda: journal_empty(database_url), timeout=30, message="every delivery acknowledged")


def test_a_node_killed_mid_burst_has_its_claimed_events_finished_by_another(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    short = {"STEPRUNNER_LEASE_SECONDS": "2", "STEPRUNNER_POLL_SECONDS": "0.5"}  # heartbeat lapses after 2 s
    (a,) = start_nodes(server_factory, tmp_path / "a", database_url, 1, env=short)
    emit_pending(database_url, tmp_path, "t.work", '{"gate": "go"}', 10)
    wait_until(lambda: list(claims(database_url).values()) == [10], timeout=30, message="node A running all 10")
    (tmp_path / "b" / "node-0").mkdir(parents=True)
    (tmp_path / "b" / "node-0" / "go").touch()  # on node B the handlers go through
    (b,) = start_nodes(server_factory, tmp_path / "b", database_url, 1, env=short)
    a.kill()  # SIGKILL: no release, no goodbye; its rows stay claimed until its heartbeat lapses
    wait_until(lambda: sum(done_seqs([b]).values()) >= 10, timeout=60, message="node B to finish what node A held")
    assert done_seqs([a, b]) == Counter(range(10)), "each event handled once, all by node B"
    wait_until(lambda: journal_empty(database_url), timeout=30, message="every delivery acknowledged")


def cron_claims(url: str) -> Counter[int]:
    """Ticks claimed in the database, per claiming pid (an owner id is `host:pid:token`)."""
    with psycopg.connect(url) as conn:
        return Counter(
            int(owner.split(":")[1])
            for (owner,) in conn.execute("SELECT owner FROM steprunner_cron_ticks WHERE step = 'Tick'")
        )


def test_each_cron_tick_runs_on_one_node(server_factory: Any, database_url: str, tmp_path: Path) -> None:
    nodes = start_nodes(server_factory, tmp_path, database_url, 3, env=EVERY_SECOND)
    wait_until(lambda: sum(len(records(n.data_dir, "tick")) for n in nodes) >= 4, timeout=30, message="four ticks")
    assert [node.stop() for node in nodes] == [0, 0, 0]
    ran = Counter(r["pid"] for n in nodes for r in records(n.data_dir, "tick"))
    claimed = cron_claims(database_url)
    assert sum(ran.values()) >= 4
    # a run happens only after its node won that tick's row: no node ran more ticks than it won
    assert all(ran[pid] <= claimed[pid] for pid in ran), (
        f"a tick ran without being claimed: ran {ran}, claimed {claimed}"
    )
    assert sum(claimed.values()) - sum(ran.values()) <= 3  # at most a tick each cut short by the Ctrl-C


def test_the_events_cli_lists_and_replays_dead_letters_from_the_database(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    fast = {
        "STEPRUNNER_RETRY_BACKOFF_SECONDS": "0.05",
        "STEPRUNNER_POLL_SECONDS": "30",
    }  # the replay must wake it, not the poll
    (node,) = start_nodes(server_factory, tmp_path, database_url, 1, env=fast)
    (node.data_dir / "flaky-fail").touch()
    with httpx.Client(base_url=node.base_url) as http:
        assert http.post("/fanout", json={"topic": "t.flaky", "data": {"n": 7}, "count": 1}).status_code == 202
    wait_until(lambda: "dead-lettered" in node.logs(), timeout=30, message="a dead letter")

    elsewhere = {"data_dir": tmp_path / "another-machine", "env": {"DATABASE_URL": database_url}, "root": FIXTURE_ROOT}
    listing = run_cli("events", **elsewhere)  # type: ignore[arg-type]
    assert listing.returncode == 0, listing.stderr
    assert (
        "journal: postgresql://postgres@127.0.0.1" in listing.stdout
        and database_url.split(":")[2].split("@")[0] not in listing.stdout
    )
    row = next(line for line in listing.stdout.splitlines() if line.startswith("t.flaky"))
    assert row.split()[1:] == ["Flaky", "0", "0", "1"]
    dead = next(line for line in listing.stdout.splitlines() if line.strip().startswith("#"))
    assert "tries=3" in dead and '{"n": 7}' in dead

    (node.data_dir / "flaky-fail").unlink()
    replay = run_cli("events", "replay", dead.split()[0].lstrip("#"), **elsewhere)  # type: ignore[arg-type]
    assert replay.returncode == 0 and "replayed 1" in replay.stdout and "at once" in replay.stdout
    ok = wait_until(
        lambda: records(node.data_dir, "flaky-ok"),
        timeout=20,
        message="the replayed delivery to succeed (woken by NOTIFY)",
    )
    assert ok[0]["data"] == {"n": 7}
    wait_until(
        lambda: "no pending, running or dead-lettered events" in run_cli("events", **elsewhere).stdout,
        timeout=20,  # type: ignore[arg-type]
        message="an empty journal",
    )
