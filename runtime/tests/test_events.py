"""Emit, fan-out, retries, dead letters, replay, timeouts and trace ids, through a real server."""

from __future__ import annotations

from pathlib import Path

import httpx

from steprunner.testing.server import run_cli
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT, records

FAST_RETRIES = {"STEPRUNNER_RETRY_BACKOFF_SECONDS": "0.05", "STEPRUNNER_POLL_SECONDS": "0.1"}


def emit_via_api(client: httpx.Client, topic: str, data: dict | None = None, count: int = 1) -> str:
    r = client.post("/fanout", json={"topic": topic, "data": data or {}, "count": count})
    assert r.status_code == 202, r.text
    return r.headers["x-trace-id"]


def test_emit_fans_out_to_every_subscriber(server_factory, tmp_path: Path) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as c:
        trace = emit_via_api(c, "t.fanout", {"pet": "rex"})
    got = wait_until(lambda: len(records(server.data_dir)) >= 2 and records(server.data_dir), message="both listeners")
    assert sorted(r["kind"] for r in got) == ["listener-a", "listener-b"]
    assert all(r["data"] == {"pet": "rex"} and r["traceId"] == trace for r in got)


def test_undeclared_emit_is_refused_naming_step_and_topic(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT)  # strict, as the harness runs
    with server.client() as c:
        r = c.get("/broken/undeclared")
    assert r.status_code == 500
    assert (
        "UndeclaredEmitError: step 'Broken' emitted topic 't.not.declared', which is not in its config `emits`"
        in server.logs()
    )


def test_undeclared_emit_is_dropped_and_logged_by_default(server_factory) -> None:
    """Lax, as Motia: the emit is dropped with an ERROR line and the handler goes on (here to return
    nothing, which Motia answers with a 500 too: tests/motia/test_motia_smoke.py)."""
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_STRICT": ""})
    with server.client() as c:
        r = c.get("/broken/undeclared")
    assert r.status_code == 500
    logs = server.logs()
    assert "UndeclaredEmitError" not in logs
    dropped = [ln for ln in logs.splitlines() if "emitted topic 't.not.declared'" in ln]
    assert (
        len(dropped) == 1
        and " ERROR " in dropped[0]
        and dropped[0].endswith('event dropped {"topic": "t.not.declared"}')
    )
    assert "handler must return {'status': int, 'body': ...}, got None" in logs


def test_trace_id_flows_through_three_hops(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as c:
        trace = emit_via_api(c, "t.hop1")
    wait_until(lambda: records(server.data_dir, "hop3"), message="third hop")
    hops = {r["kind"]: r["traceId"] for r in records(server.data_dir)}
    assert hops == {"hop1": trace, "hop2": trace, "hop3": trace}


def test_retry_then_dead_letter_then_replay(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env=FAST_RETRIES)
    (server.data_dir / "flaky-fail").touch()
    with server.client() as c:
        emit_via_api(c, "t.flaky", {"n": 7})
    # maxRetries 2: three tries, then dead-lettered
    wait_until(lambda: "dead-lettered" in server.logs(), message="dead letter")
    assert len(records(server.data_dir, "flaky-failed")) == 3

    listing = run_cli("events", data_dir=server.data_dir, root=FIXTURE_ROOT)
    assert listing.returncode == 0
    assert "t.flaky" in listing.stdout and "dead-lettered" in listing.stdout
    line = next(line for line in listing.stdout.splitlines() if line.strip().startswith("#"))
    delivery_id = line.split()[0].lstrip("#")

    (server.data_dir / "flaky-fail").unlink()
    replay = run_cli("events", "replay", delivery_id, data_dir=server.data_dir, root=FIXTURE_ROOT)
    assert replay.returncode == 0, replay.stderr
    assert "replayed 1" in replay.stdout
    ok = wait_until(lambda: records(server.data_dir, "flaky-ok"), message="replayed delivery to succeed")
    assert ok[0]["data"] == {"n": 7}
    after = run_cli("events", data_dir=server.data_dir, root=FIXTURE_ROOT)
    assert "no pending, running or dead-lettered events" in after.stdout


def test_handler_timeout(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as c:
        emit_via_api(c, "t.slow")
    wait_until(lambda: "handler timed out after 0.5s" in server.logs(), message="timeout")
    assert records(server.data_dir, "slow-started") and not records(server.data_dir, "slow-finished")
    listing = run_cli("events", data_dir=server.data_dir, root=FIXTURE_ROOT)
    assert "handler timed out after 0.5s" in listing.stdout


def test_events_emitted_from_the_cli_are_delivered(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_POLL_SECONDS": "0.1"})
    result = run_cli("emit", "t.fanout", '{"from": "cli"}', "--no-run", data_dir=server.data_dir, root=FIXTURE_ROOT)
    assert result.returncode == 0, result.stderr
    got = wait_until(
        lambda: len(records(server.data_dir)) >= 2 and records(server.data_dir), message="delivery by the server"
    )
    assert {r["pid"] for r in got} == {server.proc.pid}
