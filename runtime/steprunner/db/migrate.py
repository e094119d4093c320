"""The database schema, created and migrated by the service itself (`python -m steprunner db migrate`).

Migrations are SQL files, `NNNN_what_it_does.sql`, applied in number order, each in its own
transaction together with its row in `steprunner_schema` (PostgreSQL's DDL is transactional: a
migration is applied whole or not at all). The runtime's own tables (journal, state, cron ticks)
come from steprunner's folder (`runtime/steprunner/db/migrations/`, component `steprunner`), applied first;
the project's from `<root>/migrations/` (component `project`; this one's make the pets table).

Several nodes may start at once: every run takes one advisory lock first, so one applies what is
missing and the others, once they get the lock, find nothing left to do. An applied file that has
since been edited is refused: applied migrations are history, a change is a new file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_FOLDER = "migrations"
PROJECT = "project"
RUNTIME = "steprunner"
RUNTIME_MIGRATIONS = Path(__file__).parent / MIGRATIONS_FOLDER
# pg_advisory_lock key shared by every node migrating this database (any fixed 64-bit number)
LOCK_KEY = 0x5374_6570_4D69_6772  # "StepMigr"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS steprunner_schema (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class MigrationError(Exception):
    """The schema can't be brought up to date; the message says which file or setting and why."""


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.component} {self.version:04d}_{self.name}"


def migrations_in(folder: Path, component: str) -> list[Migration]:
    """The migrations of one folder in version order (none if it does not exist)."""
    if not folder.is_dir():
        return []
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: a migration file is named NNNN_what_it_does.sql (four digits, lower-case words)"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path}: version {version} is also {found[version].path.name}")
        found[version] = Migration(component, version, match.group(2), path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def project_migrations(root: Path) -> list[Migration]:
    return migrations_in(root / MIGRATIONS_FOLDER, PROJECT)


def all_migrations(root: Path) -> list[Migration]:
    """The runtime's, then the project's: a project's migration may refer to the runtime's tables."""
    return migrations_in(RUNTIME_MIGRATIONS, RUNTIME) + project_migrations(root)


def migrate(url: str, root: Path) -> list[Migration]:
    """Apply every migration the database lacks; return those applied (empty: it was up to date)."""
    import psycopg  # here: the CLI imports this module for MigrationError, and most runs have no database

    from steprunner.db.pool import APPLICATION_NAME, describe

    wanted = all_migrations(root)
    try:
        with psycopg.connect(url, autocommit=True, application_name=APPLICATION_NAME) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))  # released when the connection closes
            conn.execute(VERSION_TABLE)
            applied = {
                (component, version): checksum
                for component, version, checksum in conn.execute(
                    "SELECT component, version, checksum FROM steprunner_schema"
                )
            }
            done = []
            for migration in wanted:
                known = applied.get((migration.component, migration.version))
                if known is not None:
                    if known != migration.checksum:
                        raise MigrationError(
                            f"{migration.path} was changed after it was applied to {describe(url)}; applied migrations "
                            "are never edited: put it back as it was and add the change as a new file"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())  # bytes: the file's own text, `%` and all
                    conn.execute(
                        "INSERT INTO steprunner_schema (component, version, name, checksum) VALUES (%s, %s, %s, %s)",
                        (migration.component, migration.version, migration.name, migration.checksum),
                    )
                done.append(migration)
            return done
    except psycopg.Error as exc:
        raise MigrationError(f"database {describe(url)}: {type(exc).__name__}: {str(exc).strip()}") from None
