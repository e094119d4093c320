"""STEPRUNNER_FAULT (test-only): an emit of a chosen topic fails, or kills the process, before it is journaled."""

from __future__ import annotations

import httpx
import pytest

from steprunner.testing.server import run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

NOTHING_PENDING = "no pending, running or dead-lettered events"


def test_fail_makes_the_emit_raise_and_journals_nothing(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_FAULT": "fail:t.fanout"})
    with server.client() as c:
        failed = c.post("/fanout", json={"topic": "t.fanout"})
        assert failed.status_code == 500  # the handler's emit raised
        assert c.post("/fanout", json={"topic": "t.hop1"}).status_code == 202  # other topics are untouched
    assert "injected fault: journal write failed" in server.logs()
    wait_until(lambda: records(server.data_dir, "hop3"), message="the untouched topic's chain to finish")
    assert not records(server.data_dir, "listener-a") and not records(server.data_dir, "listener-b")
    wait_until(
        lambda: NOTHING_PENDING in run_cli("events", data_dir=server.data_dir, root=FIXTURE_ROOT).stdout,
        message="an empty journal",
    )


def test_kill_makes_the_process_die_before_journaling(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_FAULT": "kill:t.fanout, fail:t.other"})
    with server.client() as c, pytest.raises(httpx.TransportError):
        c.post("/fanout", json={"topic": "t.fanout"})
    assert server.wait_exit() == -9  # SIGKILL: no clean-up, no response
    assert NOTHING_PENDING in run_cli("events", data_dir=server.data_dir, root=FIXTURE_ROOT).stdout


def test_a_malformed_fault_list_stops_start_up(tmp_path) -> None:
    result = run_cli(
        "dev", "--port", "0", data_dir=tmp_path, root=FIXTURE_ROOT, env={"STEPRUNNER_FAULT": "explode:t.fanout"}
    )
    assert result.returncode == 1
    assert "STEPRUNNER_FAULT: 'explode:t.fanout' is not `fail:<topic>` or `kill:<topic>`" in result.stderr
    assert "Traceback" not in result.stderr
