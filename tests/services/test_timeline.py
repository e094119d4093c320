"""services/timeline.py: how items are numbered and written with the change they tell of, what each
decision tells, and publishing (a real store, an in-memory stream). Milliseconds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from services import decisions, timeline
from services.decisions import Decision, Outcome
from services.models import StatusUpdateRequested
from services.pet_store_file import PetStore
from tests.services.test_ai_profile import MemoryStream, RecordingLogger

T0 = 1_640_995_200_000


def pet(status: str = "in_quarantine", **fields: Any) -> dict[str, Any]:
    base = timeline.admitted(decisions.intake({"name": "Buddy", "species": "dog", "ageMonths": 24}), T0)
    return {**base, "id": "7", "createdAt": T0, "updatedAt": T0, "status": status, **fields}


class Context:
    def __init__(self) -> None:
        self.logger = RecordingLogger()
        self.streams = {timeline.STREAM: MemoryStream()}

    def items(self) -> list[dict[str, Any]]:
        return list(self.streams[timeline.STREAM].items.values())


def test_a_new_pet_starts_its_timeline_with_created() -> None:
    fresh = pet("new")
    assert fresh["timelineSeq"] == 1
    (item,) = fresh["timelineOutbox"]
    assert item == {
        "id": "000001",
        "at": T0,
        "kind": "created",
        "message": "🐾 Buddy the dog was taken in",
        "data": {"name": "Buddy", "species": "dog", "ageMonths": 24, "status": "new"},
    }


def test_items_are_numbered_after_the_pets_last_and_written_with_the_change() -> None:
    request = StatusUpdateRequested(petId="7", requestedStatus="healthy", requestId="r1")  # type: ignore[arg-type]
    decide = timeline.recording(
        lambda p: decisions.status_request(p, request),
        timeline.told_status_request("healthy", False, "r1"),
        clock=lambda: T0 + 5,
    )
    decision = decide(pet(timelineSeq=41, timelineOutbox=[]))
    assert decision.patch is not None and decision.patch["status"] == "healthy"
    assert decision.patch["timelineSeq"] == 42
    (item,) = decision.patch["timelineOutbox"]
    assert (item["id"], item["at"], item["kind"]) == ("000042", T0 + 5, "status_changed")
    assert item["data"] == {
        "oldStatus": "in_quarantine",
        "newStatus": "healthy",
        "automatic": False,
        "trigger": "status.update.requested",
        "requestId": "r1",
    }


def test_a_repeat_tells_nothing_and_writes_nothing() -> None:
    request = StatusUpdateRequested(petId="7", requestedStatus="healthy", requestId="r1")  # type: ignore[arg-type]
    decide = timeline.recording(
        lambda p: decisions.status_request(p, request), timeline.told_status_request("healthy", False, "r1")
    )
    assert decide(pet("healthy", lastStatusRequestId="r1")).patch is None
    feeding = timeline.recording(decisions.feeding_reminder, timeline.told_feeding_reminder)
    fed = pet("new", notes=decisions.WELCOME_NOTES, nextFeedingAt=T0 + decisions.DAY_MS)
    assert feeding(fed).patch is None, "a redelivered feeding job finds its values written"


def test_a_rejection_alone_keeps_updated_at() -> None:
    request = StatusUpdateRequested(petId="7", requestedStatus="adopted")  # type: ignore[arg-type]
    decide = timeline.recording(
        lambda p: decisions.status_request(p, request), timeline.told_status_request("adopted", False, None)
    )
    decision = decide(pet())
    assert decision.outcome is Outcome.REJECT and decision.patch is not None
    assert decision.patch["updatedAt"] == T0
    assert decision.patch["timelineOutbox"][-1]["message"] == (
        "⚠️ Status change to adopted rejected: Invalid transition: cannot change from in_quarantine to adopted"
    )


@pytest.mark.parametrize(
    ("field", "kind"), [("treatmentPlan", "treatment_plan_written"), ("adoptionPosting", "adoption_posting_written")]
)
def test_a_care_document_is_told_once(field: str, kind: str) -> None:
    status = {"treatmentPlan": "under_treatment", "adoptionPosting": "available"}[field]
    decide = timeline.recording(lambda p: decisions.care_written(p, field, {"title": "x"}), timeline.told_care(field))
    first = decide(pet(status))
    assert first.patch and first.patch["timelineOutbox"][-1]["kind"] == kind
    assert decide(pet(status, **{field: {"title": "x"}})).patch is None


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PetStore:
    from services.store import get_store

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return get_store()


def admit(store: PetStore) -> dict[str, Any]:
    return store.create(timeline.admitted(decisions.intake({"name": "Rex", "species": "dog", "ageMonths": 3}), T0))


def test_publish_sets_the_new_items_and_the_pets_next_write_clears_them(store: PetStore) -> None:
    created, context = admit(store), Context()
    asyncio.run(timeline.publish(context, created))
    assert [(i["id"], i["kind"], i["_createdAt"]) for i in context.items()] == [("000001", "created", T0)]
    assert (store.get(created["id"]) or {})["timelineOutbox"] != [], "publishing writes nothing to the store"
    change = store.modify(created["id"], timeline.recording(decisions.feeding_reminder, timeline.told_feeding_reminder))
    assert change is not None
    assert [i["id"] for i in change.after["timelineOutbox"]] == ["000002"], (
        "the published item left with the next write"
    )
    untold = store.modify(created["id"], timeline.recording(lambda p: Decision(Outcome.SKIP), lambda p, d: []))
    assert untold is not None and untold.after == change.after, (
        "a decision that writes nothing writes nothing, even to clear"
    )


def test_a_failed_stream_write_keeps_the_item_for_the_reconciler(store: PetStore) -> None:
    created, context = admit(store), Context()
    stream = context.streams[timeline.STREAM]

    async def refuse(*_: Any) -> None:
        raise ConnectionError("stream down")

    async def run() -> tuple[list[dict[str, Any]], dict[str, int]]:
        stream.set = refuse  # type: ignore[method-assign]
        await timeline.publish(context, created)
        shown = await timeline.items_of(context, store.get(created["id"]) or {})
        del stream.set  # the stream is back
        return shown, await timeline.publish_leftovers(context, [store.get(created["id"]) or {}], T0)

    shown, published = asyncio.run(run())
    assert [i["kind"] for i in shown] == ["created"], "GET shows it meanwhile"
    assert context.logger.messages() == ["❌ Timeline item not published; the reconciler will publish it"]
    assert published == {created["id"]: 1} and [i["id"] for i in context.items()] == ["000001"]
    assert (store.get(created["id"]) or {})["timelineOutbox"] == []


def test_a_decision_that_tells_nothing_is_left_as_it_is() -> None:
    plain = Decision(Outcome.SKIP, kind="noop")
    assert timeline.recording(lambda _p: plain, lambda _p, _d: [])(pet()) is plain
