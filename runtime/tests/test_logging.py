"""Log lines: readable text by default, one JSON object per line with LOG_FORMAT=json (also from .env)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from steprunner.testing.waiting import wait_until
from tests.support import FIXTURE_ROOT


def test_text_lines_carry_time_level_step_trace_and_fields(server_factory) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as c:
        trace = c.get("/broken/raise").headers["x-trace-id"]
    line = next(line for line in server.logs().splitlines() if "boom from the fixture" in line)
    stamp, level, step, short_trace, *_ = line.split()
    assert len(stamp) == len("12:00:00.000") and level == "ERROR" and step == "Broken" and short_trace == trace[:8]


def test_json_format_from_dotenv(server_factory, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__", ".data"))
    (root / ".env").write_text("LOG_FORMAT=json\n")
    server = server_factory(root=root)
    with server.client() as c:
        trace = c.post("/fanout", json={"topic": "t.slow"}).headers["x-trace-id"]
    wait_until(lambda: "timed out" in server.logs(), message="the timeout's log line")
    records = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    dead = next(r for r in records if r["step"] == "Slow" and r["level"] == "error")
    assert dead["traceId"] == trace
    assert dead["fields"]["error"] == "handler timed out after 0.5s"
    assert set(dead) == {"time", "level", "step", "traceId", "message", "fields"}
