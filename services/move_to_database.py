"""`python -m services.move_to_database import | export`: a DATA_DIR's shelter onto PostgreSQL, and the pets back.

`import` copies into DATABASE_URL's database, in one transaction: the pets of `DATA_DIR/pets.json`
(their ids and the sequence kept, so the next pet gets the id the JSON store would have given it)
and, through steprunner's own `import_data_dir` (the runtime's data, which `steprunner db import`
moves alone), the events still to run, the dead-lettered ones, `context.state` and the stream
items (the pets' timelines). The nodes then carry on with them. It refuses a database that already
holds any of it unless given `--replace`, which empties it first. The DATA_DIR is left as it was
(a copy to go back to): don't run servers on it and on the database both, or its events run twice.

`export` writes the database's pets in the spec's shape, `{"seq": N, "pets": {...}}`: the file
the JSON store reads (`--output DATA_DIR/pets.json` to go back), or stdout.

The pets are the project's (steprunner knows nothing of pets) and the journal, state and streams
the runtime's: each side writes only its own tables, and one command moves all a shelter keeps.
Stop the servers first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import psycopg
from dotenv import load_dotenv

from services.pet_file import FILE_NAME, encode_file, encode_line, replace_durably
from services.pet_store_file import PetStore
from services.store_contract import Pet, StoreError
from steprunner.db.migrate import MigrationError
from steprunner.journal.contract import JournalError
from steprunner.move import MoveError, moved_summary
from steprunner.move import import_data_dir as import_runtime_data
from steprunner.settings import data_dir_from_env, database_url_from_env


class PetsToMove:
    """The pets of one pets.json, moved in the runtime's transaction (steprunner.move.ProjectData)."""

    tables = ("pets",)

    def __init__(self, path: Path) -> None:
        self.pets, self.seq = _read_pets(path)  # read (and validated) before the transaction begins

    def held(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        row = conn.execute("SELECT count(*) FROM pets").fetchone()
        return {"pets": int(row[0]) if row else 0}

    def clear(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("DELETE FROM pets")

    def write(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        from services.pet_store_pg import encode_doc

        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO pets (id, doc) VALUES (%s, %s::json)", [(pet["id"], encode_doc(pet)) for pet in self.pets]
            )
        numbers = [int(pet["id"]) for pet in self.pets if str(pet["id"]).isdigit()]
        last = max([self.seq, *numbers])  # a hand-edited file may hold ids above seq, as the JSON store allows
        if last > 0:
            conn.execute("SELECT setval('pet_ids', %s)", (last,))
        else:
            conn.execute("SELECT setval('pet_ids', 1, false)")
        return {"pets": len(self.pets)}


def import_data_dir(data_dir: Path, url: str, replace: bool = False) -> dict[str, int]:
    """Copy DATA_DIR's pets and the runtime's data into the database at `url`; returns how many of each."""
    pets = PetsToMove(data_dir / FILE_NAME)
    return import_runtime_data(data_dir, url, root=Path.cwd(), replace=replace, project=pets)


def export_pets(url: str) -> bytes:
    """The database's pets as pets.json holds them: `{"seq": N, "pets": {...}}`, one pet per line, in id order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, doc::text FROM pets ORDER BY id_kind, id_number, id").fetchall()
        sequence = conn.execute("SELECT last_value, is_called FROM pet_ids").fetchone()
    seq = int(sequence[0]) if sequence and sequence[1] else 0
    return encode_file(seq, [encode_line(pet_id, json.loads(doc)) for pet_id, doc in rows])


def _read_pets(path: Path) -> tuple[list[Pet], int]:
    if not path.exists():
        return [], 0
    store = PetStore(path)  # validates the file as the JSON store does (StoreError if it is corrupt)
    try:
        pets = store.all()
    finally:
        store.close()
    return pets, int(json.loads(path.read_bytes())["seq"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.move_to_database", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser(
        "import", help="DATA_DIR's pets.json, events still to run, state and stream items into DATABASE_URL's database"
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="empty the database's pets, events, state and stream items first (else a non-empty one is refused)",
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
            print(f"imported {moved_summary(moved)} from {data_dir}")
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
    except (MoveError, StoreError, JournalError, MigrationError) as exc:
        print(f"move_to_database: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
