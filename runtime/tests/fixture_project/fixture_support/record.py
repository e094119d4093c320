"""Fixture steps append what they did to DATA_DIR/records.jsonl, so tests see handlers run."""

import json
import os
from pathlib import Path


def record(kind: str, **fields) -> None:
    line = json.dumps({"kind": kind, "pid": os.getpid(), **fields}) + "\n"
    path = Path(os.environ.get("DATA_DIR", ".data")) / "records.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write with O_APPEND: lines from many processes never interleave
    finally:
        os.close(fd)


def flag(name: str) -> bool:
    return (Path(os.environ.get("DATA_DIR", ".data")) / name).exists()


def take_one_failure() -> bool:
    """True (and one line fewer) while DATA_DIR/flaky-fail-times has lines: fail exactly N times,
    whenever the retries come, rather than while a flag a test must remove in time exists."""
    path = Path(os.environ.get("DATA_DIR", ".data")) / "flaky-fail-times"
    lines = path.read_text().splitlines() if path.exists() else []
    if not lines:
        return False
    path.write_text("".join(line + "\n" for line in lines[1:]))
    return True
