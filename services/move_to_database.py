"""`python -m services.move_to_database import | export`: a DATA_DIR's shelter onto PostgreSQL, and the pets back.

`import` copies, into DATABASE_URL's database and in one transaction: the pets of
`DATA_DIR/pets.json` (their ids and the sequence kept, so the next pet gets the id the JSON store
would have given it) and, from `DATA_DIR/steprunner.db`, the events still to run (pending, and
claimed by a server that stopped without handing them back: pending again, their tries kept),
the dead-lettered ones (to replay with `python -m steprunner events replay`), and
`context.state`. The nodes then carry on with them. It refuses a database that already holds
pets or events unless given `--replace`, which empties it first. The DATA_DIR is left as it was
(a copy to go back to): don't run servers on it and on the database both, or its events run twice.

`export` writes the database's pets in the spec's shape, `{"seq": N, "pets": {...}}`: the file
the JSON store reads (`--output DATA_DIR/pets.json` to go back), or stdout.

A service command, not a runtime one: pets.json and the pets table are the project's (steprunner
knows nothing of pets), and one command moves everything a shelter keeps. Stop the servers first.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from services.pet_file import FILE_NAME, encode_file, encode_line, replace_durably
from services.pet_store_file import PetStore
from services.store_contract import StoreError
from steprunner.db.migrate import migrate
from steprunner.settings import JOURNAL_FILE_NAME, data_dir_from_env, database_url_from_env


class MoveError(Exception):
    """Why nothing was moved (the database is left as it was)."""


def import_data_dir(data_dir: Path, url: str, replace: bool = False) -> dict[str, int]:
    """Copy DATA_DIR's pets, events and state into the database at `url`; returns how many of each."""
    import psycopg

    from services.pet_store_pg import encode_doc  # psycopg: imported only by those who use it
    from steprunner.journal.postgres import CHANNEL

    pets, seq = _read_pets(data_dir / FILE_NAME)
    deliveries, state = _read_journal(data_dir / JOURNAL_FILE_NAME)
    migrate(url, Path.cwd())
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(
            "LOCK TABLE pets, steprunner_deliveries, steprunner_state IN EXCLUSIVE MODE"
        )  # no node writes meanwhile
        held = conn.execute(
            "SELECT (SELECT count(*) FROM pets), (SELECT count(*) FROM steprunner_deliveries)"
        ).fetchone()
        assert held is not None
        if any(held) and not replace:
            raise MoveError(
                f"the database already holds {held[0]} pets and {held[1]} events; "
                "`--replace` empties it first (everything in it is lost)"
            )
        if replace:
            conn.execute("DELETE FROM pets")
            conn.execute("DELETE FROM steprunner_deliveries")
            conn.execute("DELETE FROM steprunner_state")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO pets (id, doc) VALUES (%s, %s::json)", [(pet["id"], encode_doc(pet)) for pet in pets]
            )
            cur.executemany(
                "INSERT INTO steprunner_deliveries (topic, step, data, trace_id, status, attempts, max_attempts, available_at, last_error)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s), %s)",
                deliveries,
            )
            cur.executemany("INSERT INTO steprunner_state (group_id, key, value) VALUES (%s, %s, %s)", state)
        numbers = [int(pet["id"]) for pet in pets if str(pet["id"]).isdigit()]
        last = max([seq, *numbers])  # a hand-edited file may hold ids above seq, as the JSON store allows
        if last > 0:
            conn.execute("SELECT setval('pet_ids', %s)", (last,))
        else:
            conn.execute("SELECT setval('pet_ids', 1, false)")
        if deliveries:
            conn.execute(f"NOTIFY {CHANNEL}".encode())  # running nodes take them at once
    return {"pets": len(pets), "events": len(deliveries), "state": len(state)}


def export_pets(url: str) -> bytes:
    """The database's pets as pets.json holds them: `{"seq": N, "pets": {...}}`, one pet per line, in id order."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, doc::text FROM pets ORDER BY id_kind, id_number, id").fetchall()
        sequence = conn.execute("SELECT last_value, is_called FROM pet_ids").fetchone()
    seq = int(sequence[0]) if sequence and sequence[1] else 0
    return encode_file(seq, [encode_line(pet_id, json.loads(doc)) for pet_id, doc in rows])


def _read_pets(path: Path) -> tuple[list[dict[str, Any]], int]:
    if not path.exists():
        return [], 0
    store = PetStore(path)  # validates the file as the JSON store does (StoreError if it is corrupt)
    try:
        pets = store.all()
    finally:
        store.close()
    return pets, int(json.loads(path.read_bytes())["seq"])


def _read_journal(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, str]]]:
    """The events to carry over (rows for INSERT, due times as seconds from now) and the state."""
    if not path.exists():
        return [], []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        now = time.time()
        deliveries = [
            (
                topic,
                step,
                data,
                trace_id,
                "dead" if status == "dead" else "pending",
                attempts,
                max_attempts,
                max(0.0, available_at - now),
                error,
            )
            for topic, step, data, trace_id, status, attempts, max_attempts, available_at, error in conn.execute(
                "SELECT topic, step, data, trace_id, status, attempts, max_attempts, available_at, last_error FROM deliveries ORDER BY id"
            )
        ]
        state = [tuple(row) for row in conn.execute("SELECT group_id, key, value FROM state ORDER BY group_id, key")]
    finally:
        conn.close()
    return deliveries, state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.move_to_database", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="DATA_DIR's pets.json, pending events and state into DATABASE_URL's database")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="empty the database's pets and events first (else a non-empty one is refused)",
    )
    exp = sub.add_parser("export", help="the database's pets in pets.json's shape")
    exp.add_argument(
        "--output", default="-", help="file to write (refused if it exists, unless --replace); default stdout"
    )
    exp.add_argument("--replace", action="store_true", help="overwrite --output")
    args = p.parse_args(argv)
    load_dotenv(Path.cwd() / ".env", override=False)
    url = database_url_from_env()
    if url is None:
        print(
            "move_to_database: set DATABASE_URL (environment or .env) to the database to move to or from",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "import":
            data_dir = data_dir_from_env()
            moved = import_data_dir(data_dir, url, replace=args.replace)
            print(
                f"imported {moved['pets']} pets, {moved['events']} events and {moved['state']} state values from {data_dir}"
            )
            return 0
        data = export_pets(url)
        if args.output == "-":
            sys.stdout.buffer.write(data)
            return 0
        out = Path(args.output)
        if out.exists() and not args.replace:
            raise MoveError(f"{out} exists; `--replace` overwrites it")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.close(replace_durably(out, data))
        print(f"exported the pets to {out}")
        return 0
    except (MoveError, StoreError) as exc:
        print(f"move_to_database: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
