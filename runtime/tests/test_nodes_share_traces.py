"""Live traces with DATABASE_URL: a trace read on any node shows every step of its chain, whichever node ran it.

What an operator with the flow view open on one node sees when the work spreads over several: the
steps (and log lines) another node ran, marked with that node, a trace that ends `ok` there and not
`running` for ever, and live updates over server-sent events for work run elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from steprunner.testing.server import Server
from steprunner.testing.sse import sse_events
from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT

FAST_RETRIES = {"STEPRUNNER_RETRY_BACKOFF_SECONDS": "0.05"}
# The poll is only a safety net: with it an hour apart, what a node learns in the tests' deadlines came by NOTIFY.
NO_POLL = {"STEPRUNNER_POLL_SECONDS": "3600"}


def node(server_factory: Callable[..., Server], data_dir: Path, url: str, env: dict[str, str]) -> Server:
    return server_factory(data_dir, root=FIXTURE_ROOT, env={"DATABASE_URL": url, **env})


def pid_of(server: Server) -> int:
    return int(httpx.get(f"{server.base_url}/__steprunner/health").json()["pid"])


def ran_on(entry: dict[str, Any]) -> int:
    """The pid of the node an entry is marked with (a node is named `host:pid:token`, as its journal claims)."""
    return int(entry["node"].split(":")[1])


def finished_trace(server: Server, trace_id: str) -> dict[str, Any] | None:
    detail = httpx.get(f"{server.base_url}/__steprunner/traces/{trace_id}")
    return detail.json() if detail.status_code == 200 and detail.json()["status"] != "running" else None


def test_a_trace_read_on_either_node_shows_the_steps_and_log_lines_of_both(
    server_factory: Callable[..., Server], database_url: str, tmp_path: Path
) -> None:
    """Node A takes the request and runs no pending work (`STEPRUNNER_MAX_HANDLERS=0`); its try of Flaky
    fails (DATA_DIR/flaky-fail), so tries 2 and 3 are node B's, which fails try 2 once (flaky-fail-times)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "flaky-fail").touch()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "flaky-fail-times").write_text("fail\n")
    a = node(server_factory, tmp_path / "a", database_url, {**FAST_RETRIES, "STEPRUNNER_MAX_HANDLERS": "0"})
    b = node(
        server_factory, tmp_path / "b", database_url, {**FAST_RETRIES, "STEPRUNNER_POLL_SECONDS": "0.2"}
    )  # B finds A's retry by polling
    a_pid, b_pid = pid_of(a), pid_of(b)

    with a.client() as http:
        trace_id = http.post("/fanout", json={"topic": "t.flaky", "data": {"n": 1}}).json()["traceId"]
    on_a = wait_until(lambda: finished_trace(a, trace_id), timeout=30, message="the trace to end on node A")
    assert on_a["status"] == "ok", on_a
    assert [(s["step"], s["attempt"], s["outcome"], ran_on(s)) for s in on_a["spans"]] == [
        ("Fanout", 1, "ok", a_pid),
        ("Flaky", 1, "retried", a_pid),
        ("Flaky", 2, "retried", b_pid),
        ("Flaky", 3, "ok", b_pid),
    ]
    raised = [line for line in on_a["logLines"] if line["message"].startswith("handler raised")]
    assert [ran_on(line) for line in raised] == [a_pid, b_pid]
    assert "traceback" in raised[0]["fields"], "A's own line, on A bound to loopback: whole"
    assert "traceback" not in raised[1]["fields"], "no node shares a traceback"
    assert any(ran_on(line) == b_pid and line["message"].startswith("↻ retrying") for line in on_a["logLines"])
    listed = httpx.get(f"{a.base_url}/__steprunner/traces").json()["traces"]
    assert [(t["traceId"], t["status"], t["steps"]) for t in listed] == [(trace_id, "ok", 4)]

    # B folds in A's records after its own (they came later): the same trace, started by A's request
    on_b = wait_until(lambda: finished_trace(b, trace_id), timeout=30, message="the trace to end on node B")
    assert on_b["status"] == "ok" and on_b["origin"] == {
        "kind": "api",
        "step": "Fanout",
        "method": "POST",
        "path": "/fanout",
    }
    assert [(s["step"], s["attempt"], ran_on(s)) for s in on_b["spans"]] == [
        (s["step"], s["attempt"], ran_on(s)) for s in on_a["spans"]
    ]
    assert on_b["started"] == on_a["started"]


def test_a_browser_on_node_a_sees_live_the_steps_node_b_runs(
    server_factory: Callable[..., Server], database_url: str, tmp_path: Path
) -> None:
    a = node(server_factory, tmp_path / "a", database_url, NO_POLL)
    b = node(server_factory, tmp_path / "b", database_url, NO_POLL)
    b_pid = pid_of(b)
    with a.client(timeout=30.0) as http, http.stream("GET", "/__steprunner/trace-stream") as stream:
        lines = stream.iter_lines()
        assert sse_events(lines, lambda event, data: event == "snapshot") == [("snapshot", {"traces": []})]
        with b.client() as other:
            trace_id = other.post("/fanout", json={"topic": "t.hop1"}).json()["traceId"]  # Hop1, Hop2, Hop3: all on B
        events = sse_events(
            lines,
            lambda event, data: event == "trace" and data["traceId"] == trace_id and data["status"] == "ok",
            timeout=30,
        )
        done = events[-1][1]
        assert done["steps"] == 4 and done["origin"]["path"] == "/fanout"
        detail = http.get(f"/__steprunner/traces/{trace_id}").json()
        assert [(s["step"], ran_on(s)) for s in detail["spans"]] == [
            ("Fanout", b_pid),
            ("Hop1", b_pid),
            ("Hop2", b_pid),
            ("Hop3", b_pid),
        ]
