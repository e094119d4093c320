"""`steprunner db import`: a DATA_DIR's runtime data moves onto PostgreSQL, and a node carries on with it.

A small SQLite journal is made here with the journal's own functions: a pending delivery, one
claimed by a server that died, a dead letter, state and a stream item. After the command, a node on
the database runs the two deliveries still to run, answers with the state, and `events` lists the
dead letter. A database that already holds runtime data is refused unless told to replace it;
without DATABASE_URL the command says what to set. The fixture project has no migrations of its
own: this is the runtime alone, no pets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from steprunner.journal import sqlite as journal
from steprunner.move import MoveError, import_data_dir
from steprunner.streams import store as streams
from steprunner.testing.server import Server, run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

DEAD_OWNER = "another-host:4242:gone"  # a server that stopped without handing its claim back


def data_dir_with_a_journal(folder: Path) -> Path:
    """DATA_DIR/steprunner.db holding what a stopped embedded server leaves behind."""
    conn = journal.connect(folder / "steprunner.db")
    try:
        now = time.time()
        journal.insert_deliveries(conn, [("t.work", "Work", {"seq": 1}, "trace-pending", 3, now)], None, None)
        journal.insert_deliveries(conn, [("t.work", "Work", {"seq": 2}, "trace-claimed", 3, now)], DEAD_OWNER, now + 60)
        (dead,) = journal.insert_deliveries(conn, [("t.work", "Work", {"seq": 3}, "trace-dead", 1, now)], None, None)
        journal.dead_letter(conn, dead, "RuntimeError: boom")
        journal.state_set(conn, "shelter", "count", 3)
        journal.state_set(conn, "shelter", "name", "Happy Paws")
        streams.create_tables(conn)
        streams.item_set(conn, "status", "job-1", "a", {"id": "a", "_createdAt": 1, "step": "started"})
    finally:
        conn.close()
    return folder


def db_import(data_dir: Path, url: str | None, *args: str) -> tuple[int, str, str]:
    env = {"DATABASE_URL": url} if url else None
    done = run_cli("db", "import", str(data_dir), *args, data_dir=data_dir.parent / "cli", env=env, root=FIXTURE_ROOT)
    return done.returncode, done.stdout, done.stderr


def deliveries(url: str) -> list[tuple[str, str, str, str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT topic, step, data, status, attempts FROM steprunner_deliveries ORDER BY id")
        return [tuple(row) for row in rows]


def test_a_data_dirs_deliveries_state_and_stream_items_move_and_a_node_carries_on_with_them(
    server_factory: Callable[..., Server], empty_database_url: str, tmp_path: Path
) -> None:
    files = data_dir_with_a_journal(tmp_path / "on-files")
    before = (files / "steprunner.db").read_bytes()

    code, out, err = db_import(files, empty_database_url)
    assert code == 0, err
    assert f"imported 3 events, 2 state values and 1 stream items from {files}" in out
    assert (files / "steprunner.db").read_bytes() == before, "the DATA_DIR is only read"
    assert deliveries(empty_database_url) == [
        ("t.work", "Work", '{"seq": 1}', "pending", 0),
        ("t.work", "Work", '{"seq": 2}', "pending", 1),  # its claim's owner is gone: pending, its try kept
        ("t.work", "Work", '{"seq": 3}', "dead", 0),
    ]
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT stream, group_id, id, item FROM steprunner_stream_items").fetchall() == [
            ("status", "job-1", "a", json.dumps({"id": "a", "_createdAt": 1, "step": "started"}))
        ]

    node_dir = tmp_path / "node"
    node = server_factory(node_dir, root=FIXTURE_ROOT, env={"DATABASE_URL": empty_database_url})
    wait_until(lambda: sorted(r["seq"] for r in records(node_dir, "work")) == [1, 2], message="both to run there")
    with node.client() as http:
        answer = http.put("/state/shelter/count", json=4).json()
    assert answer == {"previous": 3, "group": [4, "Happy Paws"]}, "the state came over"
    node.stop()

    listed = run_cli("events", data_dir=node_dir, env={"DATABASE_URL": empty_database_url}, root=FIXTURE_ROOT)
    assert "#3 t.work -> Work" in listed.stdout and "RuntimeError: boom" in listed.stdout, listed.stdout


def test_a_database_holding_runtime_data_is_refused_unless_told_to_replace_it(
    empty_database_url: str, tmp_path: Path
) -> None:
    files = data_dir_with_a_journal(tmp_path / "on-files")
    assert db_import(files, empty_database_url)[0] == 0

    code, _, err = db_import(files, empty_database_url)
    assert code == 1
    assert "already holds 3 events, 2 state values and 1 stream items" in err and "--replace" in err
    assert len(deliveries(empty_database_url)) == 3, "left as it was"

    with pytest.raises(MoveError, match="already holds 3 events"):  # the same answer from Python
        import_data_dir(files, empty_database_url, root=FIXTURE_ROOT)

    code, out, err = db_import(files, empty_database_url, "--replace")
    assert code == 0, err
    assert "imported 3 events" in out
    assert len(deliveries(empty_database_url)) == 3, "replaced, not added to"


def test_without_database_url_the_command_says_what_to_set(tmp_path: Path) -> None:
    code, _, err = db_import(data_dir_with_a_journal(tmp_path / "on-files"), None)
    assert code == 2
    assert "DATABASE_URL is not set" in err


def test_a_file_that_is_not_a_journal_moves_nothing_and_says_so(empty_database_url: str, tmp_path: Path) -> None:
    files = tmp_path / "on-files"
    files.mkdir()
    (files / "steprunner.db").write_text("not a database")
    code, _, err = db_import(files, empty_database_url)
    assert code == 1
    assert "is not a steprunner journal" in err and "nothing was moved" in err
