"""Cron steps: run once from the command line, by schedule, and once per tick across processes."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from pathlib import Path

from steprunner.testing.server import run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

EVERY_SECOND = {"STEPRUNNER_CRON_TICK": "* * * * * *"}  # six fields: seconds last


def test_cron_run_runs_once_now_and_delivers_its_events(tmp_path) -> None:
    result = run_cli("cron", "run", "Tick", data_dir=tmp_path, root=FIXTURE_ROOT)
    assert result.returncode == 0, result.stderr
    assert f"data: {tmp_path} (DATA_DIR)" in result.stderr, "it says which data it ran against"
    assert len(records(tmp_path, "tick")) == 1
    # what it emitted was handled before the command returned
    assert sorted(r["kind"] for r in records(tmp_path) if r["kind"] != "tick") == ["listener-a", "listener-b"]


def test_cron_run_unknown_name(tmp_path) -> None:
    result = run_cli("cron", "run", "Nope", data_dir=tmp_path, root=FIXTURE_ROOT)
    assert result.returncode == 2
    assert "no cron step named 'Nope'; cron steps: Tick" in result.stderr


def test_schedule_fires_with_an_override(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env=EVERY_SECOND)
    wait_until(lambda: len(records(server.data_dir, "tick")) >= 2, timeout=10, message="two ticks")


def test_bad_override_stops_start_up(tmp_path) -> None:
    result = run_cli(
        "dev", "--port", "0", data_dir=tmp_path, root=FIXTURE_ROOT, env={"STEPRUNNER_CRON_TICK": "every second"}
    )
    assert result.returncode == 1
    assert "STEPRUNNER_CRON_TICK='every second' is not a valid cron expression" in result.stderr


def claimed_ticks(data_dir: Path) -> Counter[int]:
    """Ticks claimed in the journal, per claiming pid (an owner id is `host:pid:token`)."""
    with contextlib.closing(sqlite3.connect(data_dir / "steprunner.db")) as conn:
        return Counter(
            int(owner.split(":")[1]) for (owner,) in conn.execute("SELECT owner FROM cron_ticks WHERE step='Tick'")
        )


def test_each_tick_fires_once_across_two_processes(server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    a = server_factory(data_dir=data, root=FIXTURE_ROOT, env=EVERY_SECOND)
    b = server_factory(data_dir=data, root=FIXTURE_ROOT, env=EVERY_SECOND)
    wait_until(lambda: len(records(data, "tick")) >= 4, timeout=15, message="four ticks")
    assert a.stop() == 0 and b.stop() == 0
    # A run happens only after its process won that tick in the journal (one row per tick), so
    # no process ran more ticks than it claimed. Not `at` rounded to the second: a busy machine
    # may run a tick late enough to land on the next second.
    ran = Counter(r["pid"] for r in records(data, "tick"))
    claimed = claimed_ticks(data)
    assert sum(ran.values()) >= 4
    assert all(ran[pid] <= claimed[pid] for pid in ran), (
        f"a tick fired without being claimed: ran {ran}, claimed {claimed}"
    )
    assert sum(claimed.values()) - sum(ran.values()) <= 2  # at most a tick each cut short by the Ctrl-C
