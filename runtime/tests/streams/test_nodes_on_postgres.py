"""Streams with DATABASE_URL: nodes with separate DATA_DIRs share the items, and a client of one sees
every change made through another, live (woken by NOTIFY), with Motia's own Node client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import psycopg

from steprunner.testing.postgres import Cluster
from steprunner.testing.server import Server
from tests.streams.support import Watcher
from tests.streams.test_join_race import ITEMS, race
from tests.streams.test_node_client import REX, put

# The poll is only a safety net: with it an hour apart, what reaches another node's clients in the
# tests' deadlines was woken by NOTIFY.
NO_POLL = {"STEPRUNNER_POLL_SECONDS": "3600"}


def nodes(
    servers: Callable[..., Server], tmp_path: Path, url: str, count: int, env: dict[str, str] | None = None
) -> list[Server]:
    return [servers(env={"DATABASE_URL": url, **(env or {})}, data_dir=tmp_path / f"node-{n}") for n in range(count)]


def test_a_client_of_node_a_sees_what_node_b_does(
    servers: Callable[..., Server], watchers: Callable[..., Watcher], database_url: str, tmp_path: Path
) -> None:
    a, b = nodes(servers, tmp_path, database_url, 2, env=NO_POLL)
    put(b, "shelter", "rex", REX)
    watcher = watchers(a.base_url, "petStatus", "shelter", events=("adoption",)).wait_synced()
    assert [i["id"] for i in watcher.state] == ["rex"]  # set on B, in A's sync

    put(b, "shelter", "bo", {"name": "Bo", "status": "pending"})
    put(b, "shelter", "bo", {"name": "Bo", "status": "adopted"})
    with b.client() as c:
        assert c.post("/streams/shelter/events", json={"type": "adoption", "data": {"pet": "bo"}}).status_code == 200
        assert c.delete("/streams/shelter/rex").status_code == 200
        assert c.delete("/streams/shelter/nobody").json() == {"deleted": None}  # nothing deleted: nothing pushed
    watcher.wait(
        lambda w: w.kinds() == ["sync", "create", "update", "event", "delete"],
        "B's create, update, event, delete at A's client",
    )
    assert [i["id"] for i in watcher.state] == ["bo"] and watcher.state[0]["status"] == "adopted"
    assert {"kind": "event", "type": "adoption", "data": {"pet": "bo"}} in watcher.lines
    stamps = [m["timestamp"] for m in watcher.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), stamps

    with a.client() as c:  # the handler API reads the shared items too
        assert c.get("/streams/shelter").json()["items"][0]["status"] == "adopted"
    assert not any((node.data_dir / "steprunner.db").exists() for node in (a, b)), (
        "nothing of the runtime's is kept in DATA_DIR"
    )


def test_joins_on_one_node_during_writes_on_another_miss_nothing_and_repeat_nothing(
    servers: Callable[..., Server], database_url: str, tmp_path: Path
) -> None:
    writer, reader = nodes(servers, tmp_path, database_url, 2, env=NO_POLL)
    for synced, created in asyncio.run(race(writer, reader)):
        assert not set(synced) & set(created), (synced, created)
        assert len(created) == len(set(created))
        assert sorted(synced + created) == [f"p{i:02d}" for i in range(ITEMS)]


def test_items_outlive_the_node_that_set_them(
    servers: Callable[..., Server], watchers: Callable[..., Watcher], database_url: str, tmp_path: Path
) -> None:
    (first,) = nodes(servers, tmp_path / "first", database_url, 1)
    put(first, "kept", "rex", REX)
    first.stop()
    (second,) = nodes(servers, tmp_path / "second", database_url, 1)  # another machine: a DATA_DIR of its own
    watcher = watchers(second.base_url, "petStatus", "kept").wait_synced()
    assert [(i["id"], i["name"]) for i in watcher.state] == [("rex", "Rex")]


def test_a_stream_write_is_one_statement(
    servers: Callable[..., Server], postgres_cluster: Cluster, database_url: str, tmp_path: Path
) -> None:
    """Each write takes its `seq` and logs its change in one statement: one round trip, and the row
    every writer of every node waits for is never held locked across a round trip."""
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:  # the server logs this database's statements
        conn.execute(f"ALTER DATABASE \"{database_url.rsplit('/', 1)[1]}\" SET log_statement = 'all'".encode())
    (node,) = nodes(servers, tmp_path, database_url, 1)
    start = len(postgres_cluster.server_log())
    put(node, "shelter", "rex", REX)
    put(node, "shelter", "rex", {**REX, "status": "adopted"})
    with node.client() as c:
        assert c.post("/streams/shelter/events", json={"type": "adoption", "data": {"pet": "rex"}}).status_code == 200
        assert c.delete("/streams/shelter/rex").status_code == 200
        assert c.delete("/streams/shelter/nobody").json() == {"deleted": None}
    # one entry per statement (its first line starts with the log's time stamp; a statement's own lines follow)
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d )", postgres_cluster.server_log()[start:])
    takes = [e for e in entries if "UPDATE steprunner_stream_seq" in e]
    assert len(takes) == 5, takes
    assert all("INSERT INTO steprunner_stream_changes" in e for e in takes), takes
