"""The needs_data flag's guards (docs/decisions.md#17): whoever asks, a flagged pet can't become
available or pending, and clearing the flag lets what it held go on. Pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest

from services import decisions, topics
from services.decisions import Outcome
from services.lifecycle import check
from services.models import StatusUpdateRequested

FLAGGED = ["needs_data"]


def pet(status: str, **fields: Any) -> dict[str, Any]:
    base = decisions.intake({"name": "Buddy", "species": "dog", "ageMonths": 24})
    return {**base, "id": "7", "createdAt": 0, "updatedAt": 0, "status": status, **fields}


def progressions(decision: decisions.Decision) -> list[str]:
    return [f.data["requestedStatus"] for f in decision.follow_ups if f.topic == topics.STATUS_UPDATE_REQUESTED]


@pytest.mark.parametrize(
    ("current", "requested"), [("healthy", "available"), ("available", "pending"), ("pending", "available")]
)
def test_the_table_refuses_a_flagged_pet_available_or_pending(current: str, requested: str) -> None:
    assert check(current, requested)[0]
    allowed, reason = check(current, requested, flags=FLAGGED)
    assert not allowed and "needs_data" in reason


def test_a_flagged_healthy_pet_waits_instead_of_moving_on_by_itself() -> None:
    request = StatusUpdateRequested.model_validate({"petId": "7", "requestedStatus": "healthy", "requestId": "r1"})
    decision = decisions.status_request(pet("in_quarantine", flags=FLAGGED), request)
    assert decision.outcome is Outcome.APPLY and progressions(decision) == []
    assert decisions.automatic_follow_up("7", "healthy", FLAGGED) == ()
    assert (
        progressions(
            decisions.Decision(
                Outcome.APPLY, follow_ups=decisions.missing_follow_ups(pet("healthy", flags=FLAGGED, profile={}), 0)
            )
        )
        == []
    )


def test_a_stale_automatic_progression_to_available_is_refused_once_flagged() -> None:
    late = StatusUpdateRequested.model_validate(
        {"petId": "7", "requestedStatus": "available", "automatic": True, "fromStatus": "healthy", "requestId": "r2"}
    )
    decision = decisions.status_request(pet("healthy", flags=FLAGGED), late)
    assert decision.outcome is Outcome.REJECT and "needs_data" in decision.reason


def test_staff_clearing_the_flag_lets_a_healthy_pet_move_on() -> None:
    decision = decisions.staff_update(pet("healthy", flags=FLAGGED), {"flags": []}, None, 0)
    assert decision.outcome is Outcome.APPLY and decision.patch == {"flags": []}
    assert progressions(decision) == ["available"]


def test_staff_edits_that_keep_the_flag_queue_nothing() -> None:
    decision = decisions.staff_update(pet("healthy", flags=FLAGGED), {"name": "Rex"}, None, 0)
    assert decision.outcome is Outcome.APPLY and decision.follow_ups == ()


def test_staff_can_not_flag_an_available_pet() -> None:
    decision = decisions.staff_update(pet("available"), {"flags": FLAGGED}, None, 0)
    assert (decision.outcome, decision.kind, decision.patch) == (Outcome.REJECT, "flag_blocks", None)


def test_staff_clearing_the_flag_and_asking_for_available_in_one_put_is_accepted() -> None:
    decision = decisions.staff_update(pet("healthy", flags=FLAGGED), {"flags": []}, "available", 0)
    assert decision.outcome is Outcome.APPLY
    assert (
        decision.patch is not None
        and decision.patch["flags"] == []
        and decision.patch["pendingStatusRequest"]["requestedStatus"] == "available"
    )


def test_staff_asking_for_available_while_flagged_is_refused_with_the_reason() -> None:
    decision = decisions.staff_update(pet("healthy", flags=FLAGGED), {}, "available", 0)
    assert (decision.outcome, decision.kind) == (Outcome.REJECT, "table") and "needs_data" in decision.reason
