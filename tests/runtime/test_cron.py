"""Cron steps: run once from the command line, by schedule, and once per tick across processes."""

from __future__ import annotations

from tests.runtime.support import FIXTURE_ROOT, records
from tests.support.server import run_cli
from tests.support.waiting import wait_until

EVERY_SECOND = {"STEPRUNNER_CRON_TICK": "* * * * * *"}  # six fields: seconds last


def test_cron_run_runs_once_now_and_delivers_its_events(tmp_path) -> None:
    result = run_cli("cron", "run", "Tick", data_dir=tmp_path, root=FIXTURE_ROOT)
    assert result.returncode == 0, result.stderr
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
    result = run_cli("dev", "--port", "0", data_dir=tmp_path, root=FIXTURE_ROOT, env={"STEPRUNNER_CRON_TICK": "every second"})
    assert result.returncode == 1
    assert "STEPRUNNER_CRON_TICK='every second' is not a valid cron expression" in result.stderr


def test_each_tick_fires_once_across_two_processes(server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    server_factory(data_dir=data, root=FIXTURE_ROOT, env=EVERY_SECOND)
    server_factory(data_dir=data, root=FIXTURE_ROOT, env=EVERY_SECOND)
    ticks = wait_until(lambda: len(records(data, "tick")) >= 4 and records(data, "tick"), timeout=15, message="four ticks")
    seconds = [round(r["at"]) for r in ticks]
    assert len(seconds) == len(set(seconds)), f"a tick fired twice: {sorted(seconds)}"
