"""A delivery's outcome reaches the journal even when the journal fails for a moment.

In-process: an event bus on a real journal in tmp_path, its `ack` / `retry_later` /
`dead_letter` writes made to fail a few times. What a user sees is the journal afterwards
(`python -m steprunner events`): nothing stuck `claimed`, and the failures in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from steprunner import events
from steprunner.events import EventBus
from steprunner.journal import sqlite as journal
from steprunner.journal.sqlite import Journal
from steprunner.loader import Step
from steprunner.settings import Settings
from steprunner.step_config import parse_config


def event_step(handler: Callable[..., Any], max_retries: int) -> Step:
    config = {
        "type": "event",
        "name": "Work",
        "subscribes": ["t.work"],
        "emits": [],
        "infrastructure": {"queue": {"maxRetries": max_retries}},
    }
    return Step(file="steps/work_step.py", config=parse_config(config, "steps/work_step.py"), handler=handler)


def rows(path: Path) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT status, attempts FROM deliveries").fetchall()


def fail_first_calls(monkeypatch: pytest.MonkeyPatch, name: str, times: int) -> list[int]:
    """Make `journal.<name>` raise the first `times` calls, as a locked or full database would."""
    real = getattr(journal, name)
    calls: list[int] = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise sqlite3.OperationalError("database or disk is full")
        return real(*args)

    monkeypatch.setattr(journal, name, flaky)
    return calls


async def ok_handler(data: Any, context: Any) -> None:
    return None


async def failing_handler(data: Any, context: Any) -> None:
    raise RuntimeError("handler fails")


@pytest.mark.parametrize(
    ("operation", "handler", "max_retries", "expected"),
    [
        ("ack", ok_handler, 0, []),  # acked: the row is gone
        ("retry_later", failing_handler, 3, [("pending", 1)]),  # back in the queue for a later try
        ("dead_letter", failing_handler, 0, [("dead", 1)]),  # no tries left
    ],
)
def test_a_failed_outcome_write_is_retried_until_it_lands(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    operation: str,
    handler: Callable[..., Any],
    max_retries: int,
    expected: list[tuple[str, int]],
) -> None:
    monkeypatch.setattr(events, "BOOKKEEPING_RETRY_DELAYS", (0.01, 0.01, 0.01))
    calls = fail_first_calls(monkeypatch, operation, times=2)
    settings = Settings(root=tmp_path, data_dir=tmp_path, retry_backoff_seconds=60)
    loop_errors: list[dict[str, Any]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
        db = Journal(tmp_path / "steprunner.db")
        bus = EventBus([event_step(handler, max_retries)], settings, db)
        bus.start(sweep=False)
        try:
            await bus.publish("t.work", {"n": 1}, "trace-1", source="test")
            assert await bus.drain(timeout=30)
        finally:
            await bus.stop()
            db.close()

    asyncio.run(scenario())
    assert len(calls) == 3  # two failures, then the write that landed
    assert rows(tmp_path / "steprunner.db") == expected
    assert loop_errors == []  # no "Task exception was never retrieved"
    out = capsys.readouterr().out
    assert out.count(f"could not record delivery {operation_label(operation)}; trying again") == 2
    assert "database or disk is full" in out


def operation_label(operation: str) -> str:
    return {"ack": "ack", "retry_later": "retry", "dead_letter": "dead-letter"}[operation]


def test_a_failed_lease_renewal_does_not_stop_later_renewals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = fail_first_calls(monkeypatch, "renew", times=1)
    settings = Settings(root=tmp_path, data_dir=tmp_path, lease_seconds=0.06)  # a renewal every 20 ms
    release = asyncio.Event()

    async def held(data: Any, context: Any) -> None:
        await release.wait()

    async def scenario() -> None:
        db = Journal(tmp_path / "steprunner.db")
        bus = EventBus([event_step(held, 0)], settings, db)
        bus.start()
        try:
            await bus.publish("t.work", {}, "trace-1", source="test")
            while len(calls) < 3:  # the first renewal fails, the loop goes on renewing
                await asyncio.sleep(0.01)
            release.set()
            assert await bus.drain(timeout=30)
        finally:
            await bus.stop()
            db.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert rows(tmp_path / "steprunner.db") == []
    assert "could not renew the leases" in capsys.readouterr().out
