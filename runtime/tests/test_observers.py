"""The event bus's observation API: typed records, in order, to every observer until it is removed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from steprunner.events import EventBus
from steprunner.journal.sqlite import Journal
from steprunner.observe import DeliveryEnded, DeliveryStarted, Emitted, Observation
from steprunner.settings import Settings
from tests.test_bookkeeping import event_step, ok_handler


def test_observers_see_emits_and_deliveries_until_removed(tmp_path: Path) -> None:
    seen: list[Observation] = []

    def broken(_: Observation) -> None:
        raise RuntimeError("a broken observer")

    async def scenario() -> None:
        db = Journal(tmp_path / "steprunner.db")
        bus = EventBus([event_step(ok_handler, 0)], Settings(root=tmp_path, data_dir=tmp_path), db)
        bus.add_observer(broken)  # logged, and neither the emit nor the other observers suffer
        bus.add_observer(seen.append)
        bus.start(sweep=False)
        try:
            await bus.publish("t.work", {"n": 1}, "trace-1", source="test")
            assert await bus.drain(timeout=30)
            bus.remove_observer(seen.append)
            await bus.publish("t.work", {"n": 2}, "trace-2", source="test")
            assert await bus.drain(timeout=30)
        finally:
            await bus.stop()
            db.close()

    asyncio.run(scenario())
    kinds: list[Any] = [type(o) for o in seen]
    assert kinds == [Emitted, DeliveryStarted, DeliveryEnded]
    emitted, started, ended = seen
    assert emitted == Emitted("trace-1", "t.work", "test", ("Work",))
    assert (started.trace_id, started.step, started.topic, started.attempt) == ("trace-1", "Work", "t.work", 1)
    assert (ended.trace_id, ended.delivery_id, ended.outcome, ended.error) == (
        "trace-1",
        started.delivery_id,
        "ok",
        None,
    )  # type: ignore[union-attr]
