"""What a pet entering under_treatment / available is owed and how it gets it (services/decisions.py):
`care_written` writes a plan or posting once per stay, `care_follow_ups` and `missing_follow_ups`
ask for a missing one. Pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest

from services import decisions, topics
from services.decisions import Outcome
from services.models import StatusUpdateRequested

T0 = 1_640_995_200_000
PLAN = {"treatmentType": "Pain Management"}
POSTING = {"title": "Buddy"}
PROFILE = {"bio": "x"}


def pet(status: str, **fields: Any) -> dict[str, Any]:
    base = decisions.intake({"name": "Buddy", "species": "dog", "ageMonths": 24})
    return {**base, "id": "7", "createdAt": T0, "updatedAt": T0, "status": status, "profile": PROFILE, **fields}


@pytest.mark.parametrize(
    ("status", "field", "value"),
    [("under_treatment", "treatmentPlan", PLAN), ("available", "adoptionPosting", POSTING)],
)
def test_care_is_written_while_the_pet_is_in_its_status_and_has_none(
    status: str, field: str, value: dict[str, Any]
) -> None:
    decision = decisions.care_written(pet(status), field, value)
    assert (decision.outcome, decision.patch) == (Outcome.APPLY, {field: value})
    assert decision.follow_ups == () and decision.change is None, "it never touches status"


@pytest.mark.parametrize(("status", "field"), [("under_treatment", "treatmentPlan"), ("available", "adoptionPosting")])
def test_a_redelivered_request_keeps_the_plan_or_posting_already_written(status: str, field: str) -> None:
    decision = decisions.care_written(pet(status, **{field: {"first": True}}), field, {"second": True})
    assert (decision.outcome, decision.kind, decision.patch) == (Outcome.SKIP, "unchanged", None)


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ("recovered", "treatmentPlan"),
        ("healthy", "treatmentPlan"),
        ("deleted", "treatmentPlan"),
        ("pending", "adoptionPosting"),
        ("ill", "adoptionPosting"),
        ("deleted", "adoptionPosting"),
    ],
)
def test_a_pet_that_has_moved_on_gets_nothing(status: str, field: str) -> None:
    decision = decisions.care_written(pet(status), field, {"late": True})
    assert (decision.outcome, decision.kind, decision.patch) == (Outcome.SKIP, "moved_on", None)
    assert status in decision.reason


@pytest.mark.parametrize(
    ("state", "owed"),
    [
        (pet("under_treatment"), [topics.TREATMENT_REQUIRED]),
        (pet("under_treatment", treatmentPlan=PLAN), []),
        (pet("available"), [topics.ADOPTION_POSTING_REQUESTED]),
        (pet("available", adoptionPosting=POSTING), []),
        (pet("pending"), []),
        (pet("healthy", treatmentPlan=None, adoptionPosting=None), []),
        (pet("deleted"), []),
    ],
)
def test_care_follow_ups_ask_for_a_missing_plan_or_posting_only(state: dict[str, Any], owed: list[str]) -> None:
    follow_ups = decisions.care_follow_ups(state)
    assert [f.topic for f in follow_ups] == owed
    assert all(f.data == {"petId": "7"} for f in follow_ups)


@pytest.mark.parametrize(
    ("state", "owed"),
    [
        (pet("under_treatment"), [topics.TREATMENT_REQUIRED]),
        (pet("under_treatment", profile=None), [topics.PROFILE_REQUESTED, topics.TREATMENT_REQUIRED]),
        (pet("available"), [topics.ADOPTION_POSTING_REQUESTED]),
        (pet("available", adoptionPosting=POSTING), []),
        (pet("deleted", statusBeforeDelete="under_treatment"), []),
    ],
)
def test_the_reconciler_is_owed_a_missing_plan_or_posting(state: dict[str, Any], owed: list[str]) -> None:
    assert [f.topic for f in decisions.missing_follow_ups(state, T0)] == owed


def test_restoring_a_pet_under_treatment_without_its_plan_asks_for_it() -> None:
    deleted = pet("deleted", statusBeforeDelete="under_treatment", purgeAt=T0 + decisions.RETENTION_MS)
    assert [f.topic for f in decisions.restore(deleted, T0).follow_ups] == [topics.TREATMENT_REQUIRED]


def test_entering_under_treatment_again_clears_the_old_plan_and_asks_for_a_new_one() -> None:
    request = StatusUpdateRequested.model_validate(
        {"petId": "7", "requestedStatus": "under_treatment", "automatic": True, "fromStatus": "ill"}
    )
    decision = decisions.status_request(pet("ill", treatmentPlan=PLAN), request)
    assert decision.patch is not None and decision.patch["treatmentPlan"] is None
    assert [f.topic for f in decision.follow_ups] == [topics.TREATMENT_REQUIRED]
