"""Streams with DATABASE_URL: nodes with separate DATA_DIRs share the items, and a client of one sees
every change made through another, live (woken by NOTIFY), with Motia's own Node client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.streams.support import Watcher
from tests.streams.test_join_race import ITEMS, race
from tests.streams.test_node_client import REX, put
from tests.support.server import Server

# The poll is only a safety net: with it an hour apart, what reaches another node's clients in the
# tests' deadlines was woken by NOTIFY.
NO_POLL = {"STEPRUNNER_POLL_SECONDS": "3600"}


def nodes(servers: Callable[..., Server], tmp_path: Path, url: str, count: int, env: dict[str, str] | None = None) -> list[Server]:
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
    watcher.wait(lambda w: w.kinds() == ["sync", "create", "update", "event", "delete"], "B's create, update, event, delete at A's client")
    assert [i["id"] for i in watcher.state] == ["bo"] and watcher.state[0]["status"] == "adopted"
    assert {"kind": "event", "type": "adoption", "data": {"pet": "bo"}} in watcher.lines
    stamps = [m["timestamp"] for m in watcher.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), stamps

    with a.client() as c:  # the handler API reads the shared items too
        assert c.get("/streams/shelter").json()["items"][0]["status"] == "adopted"
    assert not any((node.data_dir / "steprunner.db").exists() for node in (a, b)), "nothing of the runtime's is kept in DATA_DIR"


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
