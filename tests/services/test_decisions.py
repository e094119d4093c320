"""The lifecycle's rules as pure functions: every row of the table, duplicates, stale progressions,
soft delete, restore, the reaper's rule and what a pet is still owed. No files, no server: milliseconds."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services import decisions, topics
from services.decisions import DAY_MS, RETENTION_MS, WELCOME_NOTES, Outcome
from services.lifecycle import STATUS_UPDATE_REQUESTED_TRIGGER, TRANSITIONS
from services.models import Status, StatusUpdateRequested

T0 = 1_640_995_200_000
LIFECYCLE = [s.value for s in Status if s is not Status.DELETED]
ALLOWED = {(t.source.value, t.target.value) for t in TRANSITIONS if t.trigger == STATUS_UPDATE_REQUESTED_TRIGGER}
AUTOMATIC_NEXT = {"healthy": "available", "ill": "under_treatment", "recovered": "healthy"}


def pet(status: str = "new", **fields: Any) -> dict[str, Any]:
    base = decisions.intake({"name": "Buddy", "species": "dog", "ageMonths": 24})
    return {**base, "id": "7", "createdAt": T0, "updatedAt": T0, "status": status, **fields}


def request(requested: str, **fields: Any) -> StatusUpdateRequested:
    return StatusUpdateRequested.model_validate({"petId": "7", "requestedStatus": requested, **fields})


def topics_of(decision: decisions.Decision) -> list[str]:
    return [f.topic for f in decision.follow_ups]


# ----------------------------------------------------------------------------- status requests


@pytest.mark.parametrize(("current", "requested"), sorted(ALLOWED))
def test_every_row_of_the_table_is_applied_with_what_follows_by_itself(current: str, requested: str) -> None:
    decision = decisions.status_request(pet(current), request(requested, requestId="r1"))
    assert decision.outcome is Outcome.APPLY
    fresh = {"under_treatment": {"treatmentPlan": None}, "available": {"adoptionPosting": None}}.get(requested, {})
    assert decision.patch == {
        "status": requested,
        "lastStatusRequestId": "r1",
        "settledStatusRequestIds": ["r1"],
        **fresh,
    }
    assert decision.change is not None and (decision.change.old, decision.change.new) == (current, requested)
    following = AUTOMATIC_NEXT.get(requested)
    assert [f.data["requestedStatus"] for f in decision.follow_ups if f.topic == topics.STATUS_UPDATE_REQUESTED] == (
        [following] if following else []
    )
    care = {"under_treatment": [topics.TREATMENT_REQUIRED], "available": [topics.ADOPTION_POSTING_REQUESTED]}.get(
        requested, []
    )
    assert [f.topic for f in decision.follow_ups if f.topic != topics.STATUS_UPDATE_REQUESTED] == care


@pytest.mark.parametrize(
    ("current", "requested"), [p for p in itertools.permutations(LIFECYCLE, 2) if p not in ALLOWED]
)
def test_every_other_pair_is_rejected_with_the_specs_reason(current: str, requested: str) -> None:
    decision = decisions.status_request(pet(current), request(requested))
    assert decision.outcome is Outcome.REJECT and decision.patch is None
    assert decision.reason == f"Invalid transition: cannot change from {current} to {requested}"


def test_a_duplicate_request_is_skipped_but_what_follows_is_asked_for_again() -> None:
    decision = decisions.status_request(pet("healthy", lastStatusRequestId="r1"), request("healthy", requestId="r1"))
    assert (decision.outcome, decision.kind, decision.patch) == (Outcome.SKIP, "duplicate", None)
    assert topics_of(decision) == [topics.STATUS_UPDATE_REQUESTED]
    assert decision.follow_ups[0].data["fromStatus"] == "healthy"


def test_a_rejected_request_is_settled_for_good() -> None:
    """Rejected once, a copy delivered later is a duplicate, even when the table would allow it by then."""
    refused = decisions.status_request(pet("in_quarantine"), request("available", requestId="r1"))
    assert refused.outcome is Outcome.REJECT and refused.patch == {
        "lastStatusRequestId": "r1",
        "settledStatusRequestIds": ["r1"],
    }
    late_copy = decisions.status_request(pet("healthy", **refused.patch), request("available", requestId="r1"))
    assert (late_copy.outcome, late_copy.kind) == (Outcome.SKIP, "duplicate")


def test_a_late_copy_of_an_older_request_is_a_duplicate_too() -> None:
    """Applied, then followed by others: a copy of it delivered now must not be judged again (`ill` twice, say)."""
    history = {"lastStatusRequestId": "r3", "settledStatusRequestIds": ["r1", "r2", "r3"]}
    copy = decisions.status_request(pet("available", **history), request("ill", requestId="r1"))
    assert (copy.outcome, copy.kind) == (Outcome.SKIP, "duplicate")
    legacy = decisions.status_request(pet("available", lastStatusRequestId="r9"), request("ill", requestId="r9"))
    assert legacy.kind == "duplicate", "a pet stored before the list remembers its last request"
    many = pet("healthy", settledStatusRequestIds=[f"r{n}" for n in range(decisions.MAX_SETTLED_REQUESTS)])
    applied = decisions.status_request(many, request("available", requestId="new"))
    assert applied.patch and applied.patch["settledStatusRequestIds"][-1] == "new"
    assert len(applied.patch["settledStatusRequestIds"]) == decisions.MAX_SETTLED_REQUESTS, "bounded"


def test_the_same_status_twice_is_no_error_and_changes_nothing() -> None:
    decision = decisions.status_request(pet("available", adoptionPosting={"title": "Buddy"}), request("available"))
    assert (decision.outcome, decision.kind, decision.follow_ups) == (Outcome.SKIP, "noop", ())


def test_a_stale_automatic_progression_can_not_undo_a_staff_decision() -> None:
    late = request("available", automatic=True, fromStatus="healthy")
    decision = decisions.status_request(pet("ill"), late)
    assert (decision.outcome, decision.kind, decision.patch) == (Outcome.SKIP, "stale", None)


def test_automatic_wording_differs_from_the_staff_wording() -> None:
    auto = decisions.status_request(pet("healthy"), request("available", automatic=True, fromStatus="healthy"))
    staff = decisions.status_request(pet("healthy"), request("available"))
    assert auto.change and auto.change.description == "Automatic progression - pet ready for adoption"
    assert staff.change and staff.change.description == "Staff decision - pet marked ready for adoption"


def test_a_deleted_pet_can_not_change_status() -> None:
    decision = decisions.status_request(pet("deleted"), request("healthy"))
    assert decision.outcome is Outcome.REJECT and "restore it" in decision.reason


def test_the_put_answer_says_noop_rejected_or_passed_on() -> None:
    noop = decisions.staff_update(pet("healthy"), {}, "healthy", T0)
    assert (noop.outcome, noop.patch) == (Outcome.SKIP, None)
    rejected = decisions.staff_update(pet("in_quarantine"), {"name": "Max"}, "available", T0)
    assert rejected.reason == "Invalid transition: cannot change from in_quarantine to available"
    assert rejected.patch == {"name": "Max"}, "the edits are applied even when the status is ruled out"
    passed = decisions.staff_update(pet("in_quarantine"), {}, "healthy", T0)
    assert passed.outcome is Outcome.APPLY
    (follow_up,) = passed.follow_ups
    assert follow_up.data["automatic"] is False and follow_up.data["currentStatus"] == "in_quarantine"
    assert passed.patch == {
        "pendingStatusRequest": {
            "requestId": follow_up.data["requestId"],
            "requestedStatus": "healthy",
            "requestedAt": T0,
        }
    }


def test_a_deleted_pet_can_not_be_edited() -> None:
    refused = decisions.staff_update(pet("deleted"), {"name": "Max"}, None, T0)
    assert (refused.outcome, refused.kind, refused.patch) == (Outcome.REJECT, "deleted", None)
    assert "POST /py/pets/7/restore" in refused.reason


def test_the_orchestrator_settles_the_pending_request_it_answers() -> None:
    waiting = pet(
        "in_quarantine", pendingStatusRequest={"requestId": "r1", "requestedStatus": "healthy", "requestedAt": T0}
    )
    applied = decisions.status_request(waiting, request("healthy", requestId="r1"))
    assert applied.patch == {
        "status": "healthy",
        "lastStatusRequestId": "r1",
        "settledStatusRequestIds": ["r1"],
        "pendingStatusRequest": None,
    }
    refused = decisions.status_request({**waiting, "status": "adopted"}, request("healthy", requestId="r1"))
    assert refused.outcome is Outcome.REJECT and refused.patch == {
        "pendingStatusRequest": None,
        "lastStatusRequestId": "r1",
        "settledStatusRequestIds": ["r1"],
    }
    other = decisions.status_request(waiting, request("healthy", requestId="r2"))
    assert "pendingStatusRequest" not in (other.patch or {}), "a request answers only for itself"


def test_a_pending_staff_request_is_owed_until_settled() -> None:
    waiting = pet(
        "healthy",
        profile={"bio": "x"},
        pendingStatusRequest={"requestId": "r1", "requestedStatus": "ill", "requestedAt": T0},
    )
    (owed,) = decisions.missing_follow_ups(waiting, T0)
    assert owed.data == {
        "petId": "7",
        "requestedStatus": "ill",
        "currentStatus": "healthy",
        "automatic": False,
        "requestId": "r1",
    }


# ----------------------------------------------------------------------------- the chain


def test_the_feeding_reminder_sets_notes_and_next_feeding_once() -> None:
    first = decisions.feeding_reminder(pet())
    assert first.patch == {"nextFeedingAt": T0 + DAY_MS, "notes": WELCOME_NOTES}
    again = decisions.feeding_reminder(pet(notes=WELCOME_NOTES, nextFeedingAt=T0 + DAY_MS))
    assert again.outcome is Outcome.APPLY and again.patch is None


def test_the_feeding_reminder_keeps_notes_staff_wrote_and_skips_deleted_pets() -> None:
    assert decisions.feeding_reminder(pet(notes="Shy")).patch == {"nextFeedingAt": T0 + DAY_MS}
    assert decisions.feeding_reminder(pet("deleted")).outcome is Outcome.SKIP


def test_feeding_completion_moves_only_a_new_pet_to_quarantine() -> None:
    moved = decisions.feeding_completed(pet())
    assert moved.patch == {"status": "in_quarantine"} and moved.change
    assert moved.change.description == "Pet moved to quarantine after feeding setup"
    for status in ("in_quarantine", "healthy", "deleted"):
        assert decisions.feeding_completed(pet(status)).outcome is Outcome.SKIP


def test_a_profile_is_written_unless_the_pet_was_deleted_meanwhile_or_has_one() -> None:
    started = pet(enrichmentStartedAt=T0)
    assert decisions.profile_written(started, {"bio": "x"}).patch == {
        "profile": {"bio": "x"},
        "enrichmentStartedAt": None,
    }
    assert decisions.profile_written(pet("deleted"), {"bio": "x"}).outcome is Outcome.SKIP
    assert decisions.profile_written(pet(profile={"bio": "y"}), {"bio": "x"}).kind == "unchanged"


def test_an_enrichment_is_started_once_while_a_profile_is_owed() -> None:
    first = decisions.enrichment_start(pet(), T0)
    assert (first.outcome, first.patch) == (Outcome.APPLY, {"enrichmentStartedAt": T0})
    retry = decisions.enrichment_start(pet(enrichmentStartedAt=T0), T0 + 5)
    assert (retry.outcome, retry.patch) == (Outcome.APPLY, None), "a retry of the same enrichment: nothing to stamp"
    assert decisions.enrichment_start(pet(profile={"bio": "y"}), T0).outcome is Outcome.SKIP
    assert decisions.enrichment_start(pet("deleted"), T0).outcome is Outcome.SKIP
    restored = decisions.restore(
        pet("deleted", statusBeforeDelete="new", enrichmentStartedAt=T0, purgeAt=T0 + DAY_MS), T0
    )
    assert restored.patch and restored.patch["enrichmentStartedAt"] is None, (
        "an enrichment a delete cut short starts afresh"
    )


# ----------------------------------------------------------------------------- staff actions


def test_soft_delete_keeps_the_status_and_sets_a_purge_time_30_days_on() -> None:
    decision = decisions.soft_delete(pet("available"), T0)
    assert decision.patch == {
        "status": "deleted",
        "statusBeforeDelete": "available",
        "deletedAt": T0,
        "purgeAt": T0 + RETENTION_MS,
        "updatedAt": T0,
    }
    assert decisions.soft_delete(pet("deleted", purgeAt=T0), T0 + DAY_MS).outcome is Outcome.SKIP


def test_restore_goes_back_and_resumes_what_the_pet_is_owed() -> None:
    deleted = pet("deleted", statusBeforeDelete="healthy", deletedAt=T0, purgeAt=T0 + RETENTION_MS)
    decision = decisions.restore(deleted, T0 + DAY_MS)
    assert decision.patch == {
        "status": "healthy",
        "statusBeforeDelete": None,
        "deletedAt": None,
        "purgeAt": None,
        "enrichmentStartedAt": None,
    }
    assert topics_of(decision) == [topics.PROFILE_REQUESTED, topics.STATUS_UPDATE_REQUESTED]


def test_restoring_a_new_pet_queues_its_feeding_reminder_again() -> None:
    deleted = pet("deleted", statusBeforeDelete="new", purgeAt=T0 + RETENTION_MS, profile={"bio": "x"})
    assert topics_of(decisions.restore(deleted, T0)) == [topics.FEEDING_REMINDER_ENQUEUED]


def test_restore_is_refused_for_a_live_pet_and_after_the_window() -> None:
    assert "is not deleted" in decisions.restore(pet("healthy"), T0).reason
    late = decisions.restore(pet("deleted", purgeAt=T0), T0)
    assert late.outcome is Outcome.REJECT and "can no longer be restored" in late.reason


def test_the_reaper_purges_deleted_pets_past_their_time_and_reports_broken_ones() -> None:
    assert decisions.purge_verdict(pet("available", purgeAt=T0), T0) is None
    assert decisions.purge_verdict(pet("deleted", purgeAt=T0), T0) == decisions.PurgeVerdict(True)
    assert decisions.purge_verdict(pet("deleted", purgeAt=T0 + 1), T0) == decisions.PurgeVerdict(False)
    broken = decisions.purge_verdict(pet("deleted", purgeAt="soon"), T0)
    assert broken is not None and not broken.purge and "not a time" in (broken.problem or "")


# ----------------------------------------------------------------------------- what is owed


@pytest.mark.parametrize(
    ("state", "owed"),
    [
        (pet(), [topics.FEEDING_REMINDER_ENQUEUED, topics.PROFILE_REQUESTED]),
        (pet(nextFeedingAt=T0 + DAY_MS, profile={"bio": "x"}), [topics.FEEDING_REMINDER_ENQUEUED]),
        (pet("in_quarantine", profile={"bio": "x"}), []),
        (pet("in_quarantine"), [topics.PROFILE_REQUESTED]),
        (pet("ill", profile={"bio": "x"}), [topics.STATUS_UPDATE_REQUESTED]),
        (pet("adopted", profile={"bio": "x"}), []),
        (pet("deleted"), []),
    ],
)
def test_what_a_pet_is_still_owed_follows_from_its_state(state: dict[str, Any], owed: list[str]) -> None:
    assert [f.topic for f in decisions.missing_follow_ups(state, T0)] == owed
