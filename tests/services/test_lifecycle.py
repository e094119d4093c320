"""The lifecycle table: every allowed change, every refusal with its reason, the automatic steps."""

from __future__ import annotations

import itertools

import pytest

from services.lifecycle import (
    AUTOMATIC_NEXT,
    FEEDING_REMINDER_COMPLETED_TRIGGER,
    check,
    description,
    is_noop,
    next_automatic,
)
from services.models import Status

# The spec's "Transition Rules" table, row by row (status.update.requested rows).
ALLOWED_ON_REQUEST = {
    ("in_quarantine", "healthy"),
    ("healthy", "available"),
    ("healthy", "ill"),
    ("in_quarantine", "ill"),
    ("available", "ill"),
    ("ill", "under_treatment"),
    ("under_treatment", "recovered"),
    ("recovered", "healthy"),
    ("available", "pending"),
    ("pending", "adopted"),
    ("pending", "available"),
}
LIFECYCLE = [s.value for s in Status if s is not Status.DELETED]


@pytest.mark.parametrize(("current", "requested"), sorted(ALLOWED_ON_REQUEST))
def test_every_row_of_the_table_is_allowed(current: str, requested: str) -> None:
    allowed, _ = check(current, requested)
    assert allowed


@pytest.mark.parametrize(
    ("current", "requested"),
    [pair for pair in itertools.permutations(LIFECYCLE, 2) if pair not in ALLOWED_ON_REQUEST],
)
def test_everything_else_is_rejected_with_the_specs_reason(current: str, requested: str) -> None:
    assert check(current, requested) == (False, f"Invalid transition: cannot change from {current} to {requested}")


def test_the_specs_example_rejection_reads_exactly_as_in_the_spec() -> None:
    assert check("in_quarantine", "available") == (
        False,
        "Invalid transition: cannot change from in_quarantine to available",
    )


def test_quarantine_is_reached_only_when_the_feeding_reminder_completes() -> None:
    assert check("new", "in_quarantine") == (False, "Invalid transition: cannot change from new to in_quarantine")
    assert check("new", "in_quarantine", FEEDING_REMINDER_COMPLETED_TRIGGER)[0]
    assert not check("healthy", "in_quarantine", FEEDING_REMINDER_COMPLETED_TRIGGER)[0]
    assert description("new", "in_quarantine", automatic=True, trigger=FEEDING_REMINDER_COMPLETED_TRIGGER) == (
        "Pet moved to quarantine after feeding setup"
    )


@pytest.mark.parametrize("status", LIFECYCLE)
def test_the_same_status_twice_is_a_noop_not_an_error(status: str) -> None:
    assert is_noop(status, status)
    assert check(status, status)[0]


def test_deleted_is_reached_only_through_delete_and_left_only_through_restore() -> None:
    allowed, reason = check("available", "deleted")
    assert not allowed and "DELETE" in reason
    allowed, reason = check("deleted", "available")
    assert not allowed and "restore" in reason


def test_automatic_progressions_are_the_specs_three() -> None:
    assert AUTOMATIC_NEXT == {
        Status.HEALTHY: Status.AVAILABLE,
        Status.ILL: Status.UNDER_TREATMENT,
        Status.RECOVERED: Status.HEALTHY,
    }
    assert next_automatic("recovered") == "healthy"
    assert next_automatic("available") is None
    assert next_automatic("no such status") is None


@pytest.mark.parametrize(
    ("current", "requested", "automatic", "text"),
    [
        ("in_quarantine", "healthy", False, "Staff health check - pet cleared from quarantine"),
        ("healthy", "available", True, "Automatic progression - pet ready for adoption"),
        ("healthy", "ill", False, "Staff assessment - pet identified as ill"),
        ("ill", "under_treatment", True, "Automatic progression - treatment started"),
        ("under_treatment", "recovered", False, "Staff assessment - treatment completed"),
        ("recovered", "healthy", True, "Automatic progression - recovery complete"),
    ],
)
def test_descriptions_are_the_specs_console_text(current: str, requested: str, automatic: bool, text: str) -> None:
    assert description(current, requested, automatic=automatic) == text


def test_staff_asking_for_an_automatic_step_is_described_as_a_staff_decision() -> None:
    assert description("healthy", "available", automatic=False) == "Staff decision - pet marked ready for adoption"


def test_description_of_a_change_the_table_does_not_have_is_an_error() -> None:
    with pytest.raises(ValueError):
        description("new", "adopted", automatic=False)
