"""Helpers for the runtime tests on the fixture project (fixture_project/: its steps record what they did)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

FIXTURE_ROOT = Path(__file__).parent / "fixture_project"


def records(data_dir: Path, kind: str | None = None) -> list[dict]:
    """What the fixture steps recorded they did (DATA_DIR/records.jsonl)."""
    path = Path(data_dir) / "records.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if kind is None or r["kind"] == kind]


def assert_json_error(response: httpx.Response, status: int, fragment: str) -> None:
    """A runtime error answer: the status, JSON with a `message` saying `fragment`, and a trace id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.json()["message"], response.json()
    assert len(response.headers["x-trace-id"]) >= 16
