"""Nothing emitted is lost: SIGKILL, Ctrl-C, and two processes sharing one DATA_DIR."""

from __future__ import annotations

import re
from collections import Counter

from steprunner.testing.server import run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

FAST = {"STEPRUNNER_POLL_SECONDS": "0.1", "STEPRUNNER_RETRY_BACKOFF_SECONDS": "0.05"}


def pending_work(data_dir) -> str:
    return run_cli("events", data_dir=data_dir, root=FIXTURE_ROOT).stdout


def test_sigkill_with_pending_events_then_restart_delivers_all(server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    first = server_factory(data_dir=data, root=FIXTURE_ROOT, env=FAST)
    with first.client() as c:
        r = c.post("/fanout", json={"topic": "t.work", "data": {"gate": "open"}, "count": 20})
    assert r.status_code == 202  # the response is sent: all 20 events are journaled
    first.kill()
    assert records(data, "work") == []  # every handler was held at its gate when the process died
    assert "t.work" in pending_work(data)

    (data / "open").touch()
    second = server_factory(data_dir=data, root=FIXTURE_ROOT, env=FAST)
    done = wait_until(
        lambda: len(records(data, "work")) >= 20 and records(data, "work"), timeout=30, message="20 work records"
    )
    assert len(done) == 20
    assert {r["pid"] for r in done} == {second.proc.pid}
    assert {r["traceId"] for r in done} == {r.headers["x-trace-id"]}
    assert "no pending, running or dead-lettered events" in pending_work(data)


def test_ctrl_c_leaves_unfinished_events_pending(server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    env = {**FAST, "STEPRUNNER_SHUTDOWN_GRACE_SECONDS": "0.2"}
    first = server_factory(data_dir=data, root=FIXTURE_ROOT, env=env)
    with first.client() as c:
        c.post("/fanout", json={"topic": "t.work", "data": {"gate": "open"}, "count": 5})
    assert first.stop() == 0  # every handler is held at its gate: none can finish within the grace period
    assert "left unfinished deliveries pending" in first.logs()
    listing = pending_work(data)
    assert "t.work" in listing and " 5 " in listing

    (data / "open").touch()
    server_factory(data_dir=data, root=FIXTURE_ROOT, env=env)
    wait_until(lambda: len(records(data, "work")) == 5, timeout=20, message="5 work records after restart")


def test_two_processes_share_1000_events_each_handled_once(server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    a = server_factory(data_dir=data, root=FIXTURE_ROOT, env=FAST)
    b = server_factory(data_dir=data, root=FIXTURE_ROOT, env=FAST)
    result = run_cli(
        "emit", "t.work", '{"seconds": 0}', "--count", "1000", "--no-run", data_dir=data, root=FIXTURE_ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    done = wait_until(
        lambda: len(records(data, "work")) >= 1000 and records(data, "work"), timeout=60, message="1000 work records"
    )
    seqs = Counter(r["seq"] for r in done)
    assert sorted(seqs) == list(range(1000))
    assert max(seqs.values()) == 1, "an event was handled twice"
    # Who takes which event is up to scheduling (one busy process may take them all): not promised.
    assert {r["pid"] for r in done} <= {a.proc.pid, b.proc.pid}


def ready_pids(logs: str) -> set[int]:
    """The pid of every process that logged `ready` (each worker does, once its runtime has started)."""
    return {int(m) for m in re.findall(r'\bready \{"pid": (\d+)', logs)}


def test_workers_share_the_port_and_the_journal(server_factory, tmp_path) -> None:
    server = server_factory(root=FIXTURE_ROOT, env=FAST, args=["--workers", "2"])
    # Both workers serve the one port; which of them accepts a connection is the kernel's choice.
    pids = wait_until(
        lambda: len(ready_pids(server.logs())) == 2 and ready_pids(server.logs()), message="both workers ready"
    )
    with server.client() as c:
        assert c.get("/__steprunner/health").json()["pid"] in pids
    with server.client() as c:
        for _ in range(10):
            c.post("/fanout", json={"topic": "t.work", "data": {"seconds": 0}, "count": 10})
    done = wait_until(
        lambda: len(records(server.data_dir, "work")) >= 100 and records(server.data_dir, "work"),
        timeout=30,
        message="100 work records",
    )
    assert len(done) == 100
    assert {r["pid"] for r in done} <= pids
