"""`python -m steprunner db migrate`: the service makes and migrates its own schema, from any number
of nodes at once, and a server with DATABASE_URL does it as it starts.

Each test has a database of its own on a throwaway cluster (steprunner.testing.postgres); the
migrations are the fixture project's (fixture_project/migrations/), or a small project's made here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from steprunner.db.migrate import LOCK_KEY
from steprunner.testing.server import PYTHON, base_env, free_port, run_cli, start_server
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT

# the runtime's tables first, then the project's
ALL = (
    "steprunner 0001_journal, steprunner 0002_streams, steprunner 0003_traces, "
    "project 0001_visits, project 0002_visit_notes"
)
VERSIONS = [
    ("project", 1, "visits"),
    ("project", 2, "visit_notes"),
    ("steprunner", 1, "journal"),
    ("steprunner", 2, "streams"),
    ("steprunner", 3, "traces"),
]


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def versions(url: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(url) as conn:
        return [
            tuple(row) for row in conn.execute("SELECT component, version, name FROM steprunner_schema ORDER BY 1, 2")
        ]


def password(url: str) -> str:
    return conninfo_to_dict(url)["password"]


def migrate(url: str, tmp_path: Path, root: Path = FIXTURE_ROOT) -> subprocess.CompletedProcess[str]:
    return run_cli("db", "migrate", data_dir=tmp_path / "data", env={"DATABASE_URL": url}, root=root)


def project_with(tmp_path: Path, **files: str) -> Path:
    """A project root whose migrations/ holds these files (`name=sql`, `.sql` added)."""
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (root / "migrations" / f"{name}.sql").write_text(sql)
    return root


def test_migrate_creates_the_project_tables_once(empty_database_url: str, tmp_path: Path) -> None:
    first = migrate(empty_database_url, tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"applied {ALL}" in first.stdout
    assert "postgresql://postgres@127.0.0.1" in first.stdout and password(empty_database_url) not in first.stdout
    assert {
        "visits",
        "visit_notes",
        "steprunner_deliveries",
        "steprunner_state",
        "steprunner_stream_items",
        "steprunner_schema",
    } <= tables(empty_database_url)
    again = migrate(empty_database_url, tmp_path)
    assert again.returncode == 0 and "schema up to date" in again.stdout
    assert versions(empty_database_url) == VERSIONS


def test_several_nodes_migrating_at_once_apply_each_migration_once(empty_database_url: str, tmp_path: Path) -> None:
    """The test holds the migration lock until all four runs wait on it, then lets them race."""
    nodes = 4
    with psycopg.connect(empty_database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        runs = [
            subprocess.Popen(
                [PYTHON, "-m", "steprunner", "--root", str(FIXTURE_ROOT), "db", "migrate"],
                cwd=FIXTURE_ROOT,
                text=True,
                env=base_env(tmp_path / str(n), {"DATABASE_URL": empty_database_url}),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for n in range(nodes)
        ]
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        wait_until(
            lambda: holder.execute(waiting).fetchone() == (nodes,),
            timeout=30,
            message="every node to wait for the lock",
        )
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0] * nodes, [err for _, err in outputs]
    assert sum(f"applied {ALL}" in out for out, _ in outputs) == 1
    assert sum("schema up to date" in out for out, _ in outputs) == nodes - 1
    assert versions(empty_database_url) == VERSIONS


def test_a_failing_migration_is_applied_not_at_all_and_can_be_fixed(empty_database_url: str, tmp_path: Path) -> None:
    root = project_with(
        tmp_path,
        **{"0001_kennels": "CREATE TABLE kennels (id int);", "0002_runs": "CREATE TABLE runs (id int);\nSELECT 1 / 0;"},
    )
    failed = migrate(empty_database_url, tmp_path, root)
    assert failed.returncode == 1
    assert "DivisionByZero" in failed.stderr and password(empty_database_url) not in failed.stderr
    assert "kennels" in tables(empty_database_url) and "runs" not in tables(empty_database_url)
    assert versions(empty_database_url) == [
        ("project", 1, "kennels"),
        ("steprunner", 1, "journal"),
        ("steprunner", 2, "streams"),
        ("steprunner", 3, "traces"),
    ]

    (root / "migrations" / "0002_runs.sql").write_text("CREATE TABLE runs (id int);")
    assert migrate(empty_database_url, tmp_path, root).returncode == 0
    assert "runs" in tables(empty_database_url)


def test_an_applied_migration_that_was_edited_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    root = project_with(tmp_path, **{"0001_kennels": "CREATE TABLE kennels (id int);"})
    assert migrate(empty_database_url, tmp_path, root).returncode == 0
    (root / "migrations" / "0001_kennels.sql").write_text("CREATE TABLE kennels (id int, name text);")
    refused = migrate(empty_database_url, tmp_path, root)
    assert refused.returncode == 1
    assert "0001_kennels.sql was changed after it was applied" in refused.stderr and "new file" in refused.stderr


def test_a_misnamed_migration_file_is_named(empty_database_url: str, tmp_path: Path) -> None:
    root = project_with(tmp_path, **{"kennels": "CREATE TABLE kennels (id int);"})
    refused = migrate(empty_database_url, tmp_path, root)
    assert refused.returncode == 1 and "kennels.sql: a migration file is named NNNN_what_it_does.sql" in refused.stderr


def test_migrate_without_database_url_says_there_is_nothing_to_migrate(tmp_path: Path) -> None:
    done = run_cli("db", "migrate", data_dir=tmp_path / "data", root=FIXTURE_ROOT)
    assert done.returncode == 2 and "DATABASE_URL is not set" in done.stderr


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    done = run_cli(
        "db",
        "migrate",
        data_dir=tmp_path / "data",
        root=FIXTURE_ROOT,
        env={"DATABASE_URL": "mysql://root@localhost/pets"},
    )
    assert done.returncode == 1 and "DATABASE_URL must be a postgresql:// URL" in done.stderr


def test_a_server_migrates_as_it_starts(empty_database_url: str, tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", root=FIXTURE_ROOT, env={"DATABASE_URL": empty_database_url})
    try:
        assert f"applied {ALL}" in server.logs()
        with server.client() as http:
            assert http.put("/state/visitors/buddy", json={"name": "Buddy"}).status_code == 200
        assert "visits" in tables(empty_database_url)
    finally:
        server.stop()


def test_a_server_whose_database_is_out_of_reach_does_not_start(tmp_path: Path) -> None:
    url = f"postgresql://shelter:s3cret-pw@127.0.0.1:{free_port()}/pets"  # nothing listens there
    server = start_server(tmp_path / "data", root=FIXTURE_ROOT, env={"DATABASE_URL": url}, wait=False)
    assert server.wait_exit(timeout=30) == 1
    assert "cannot start: database postgresql://shelter@127.0.0.1" in server.logs()
    assert "s3cret-pw" not in server.logs()
