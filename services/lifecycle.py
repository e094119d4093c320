"""The pet lifecycle: which status changes are allowed, why not, and what follows by itself.

This is the spec's "Transition Rules" table (docs/decisions.md#24, from the spec's Section 3) as data, with the
description strings of its console examples. The orchestrator step is the only writer of
`status`; it and the PUT step both ask `check()` so they can never disagree.

- Staff requests (PUT) and automatic progressions both arrive as `status.update.requested`.
- `new -> in_quarantine` happens only when the feeding reminder completes, never on request.
- `deleted` is not part of the lifecycle: only DELETE reaches it and only restore leaves it.
- Asking for the status a pet already has is a no-op, not an error (docs/decisions.md#4).
- The routing agents' decisions are triggers of their own (docs/decisions.md#17); the orchestrator
  applies them through this table like any other request.
- Guards: a pet flagged `needs_data` can't become `available` or `pending`, whoever asks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from services.models import Flag, Status

# Triggers: what a row of the table is taken on (logged and emitted as a transition's `eventType`).
# Not topics: the topics they arrive on are services/topics.py's, e.g. `py.feeding.reminder.completed`.
FEEDING_REMINDER_COMPLETED_TRIGGER = "feeding.reminder.completed"
STATUS_UPDATE_REQUESTED_TRIGGER = "status.update.requested"
TREATMENT_REQUIRED_DECISION = "health.treatment_required"
NO_TREATMENT_NEEDED_DECISION = "health.no_treatment_needed"
NEEDS_DATA_DECISION = "adoption.needs_data"

# Statuses a flag keeps a pet out of, whoever asks (staff, automatic progression, an agent).
FLAG_BLOCKS: dict[Flag, frozenset[Status]] = {Flag.NEEDS_DATA: frozenset({Status.AVAILABLE, Status.PENDING})}


class Kind(StrEnum):
    """Who drives a transition, as in the table's "Action Type" column."""

    AUTOMATIC = "automatic"
    STAFF = "staff"
    AUTOMATIC_PROGRESSION = "automatic_progression"
    AGENT = "agent"


@dataclass(frozen=True)
class Transition:
    """One row of the table: from -> to, on which trigger, and the log's description."""

    source: Status
    target: Status
    trigger: str
    kind: Kind
    description: str
    # Said instead of `description` when staff ask for a change that normally happens by
    # itself (the spec's walkthrough PUTs `available` right after `healthy`, for example).
    staff_description: str | None = None


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Status.NEW,
        Status.IN_QUARANTINE,
        FEEDING_REMINDER_COMPLETED_TRIGGER,
        Kind.AUTOMATIC,
        "Pet moved to quarantine after feeding setup",
    ),
    Transition(
        Status.IN_QUARANTINE,
        Status.HEALTHY,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff health check - pet cleared from quarantine",
    ),
    Transition(
        Status.HEALTHY,
        Status.AVAILABLE,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.AUTOMATIC_PROGRESSION,
        "Automatic progression - pet ready for adoption",
        "Staff decision - pet marked ready for adoption",
    ),
    Transition(
        Status.HEALTHY,
        Status.ILL,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff assessment - pet identified as ill",
    ),
    Transition(
        Status.IN_QUARANTINE,
        Status.ILL,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff assessment - pet identified as ill",
    ),
    Transition(
        Status.AVAILABLE,
        Status.ILL,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff assessment - pet identified as ill",
    ),
    Transition(
        Status.ILL,
        Status.UNDER_TREATMENT,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.AUTOMATIC_PROGRESSION,
        "Automatic progression - treatment started",
        "Staff decision - treatment started",
    ),
    Transition(
        Status.UNDER_TREATMENT,
        Status.RECOVERED,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff assessment - treatment completed",
    ),
    Transition(
        Status.RECOVERED,
        Status.HEALTHY,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.AUTOMATIC_PROGRESSION,
        "Automatic progression - recovery complete",
        "Staff health check - recovery confirmed",
    ),
    Transition(
        Status.AVAILABLE,
        Status.PENDING,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff decision - adoption application received",
    ),
    Transition(
        Status.PENDING,
        Status.ADOPTED,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff decision - adoption completed",
    ),
    Transition(
        Status.PENDING,
        Status.AVAILABLE,
        STATUS_UPDATE_REQUESTED_TRIGGER,
        Kind.STAFF,
        "Staff decision - adoption fell through, pet available again",
    ),
    *(
        Transition(
            source,
            Status.ILL,
            TREATMENT_REQUIRED_DECISION,
            Kind.AGENT,
            "Agent assessment - pet requires medical treatment",
        )
        for source in (Status.IN_QUARANTINE, Status.HEALTHY, Status.AVAILABLE)
    ),
    Transition(
        Status.IN_QUARANTINE,
        Status.HEALTHY,
        NO_TREATMENT_NEEDED_DECISION,
        Kind.AGENT,
        "Agent assessment - no treatment needed, pet cleared from quarantine",
    ),
    Transition(
        Status.AVAILABLE,
        Status.HEALTHY,
        NEEDS_DATA_DECISION,
        Kind.AGENT,
        "Agent review - adoption paused until the pet's record is complete",
    ),
)

_BY_PAIR: dict[tuple[str, str, str], Transition] = {(t.trigger, t.source.value, t.target.value): t for t in TRANSITIONS}

# What the orchestrator does next, by itself, once a pet reaches these statuses.
AUTOMATIC_NEXT: dict[Status, Status] = {t.source: t.target for t in TRANSITIONS if t.kind is Kind.AUTOMATIC_PROGRESSION}


def find(current: str, requested: str, trigger: str = STATUS_UPDATE_REQUESTED_TRIGGER) -> Transition | None:
    """The table row for this change on this trigger, or None if the table has none."""
    return _BY_PAIR.get((trigger, _value(current), _value(requested)))


def is_noop(current: str, requested: str) -> bool:
    """Asking for the status the pet already has: nothing to do, and no error."""
    return _value(current) == _value(requested)


def blocked_by_flags(requested: str, flags: Collection[str]) -> str | None:
    """Why a pet with these flags can't enter `requested`, or None when nothing stands in the way."""
    for flag, blocked in FLAG_BLOCKS.items():
        if flag.value in flags and _value(requested) in blocked:
            return (
                f"Pet is flagged {flag.value}: it can't become available or pending until the flag is cleared "
                f'(an adoption review that finds it ready, or PUT {{"flags": []}})'
            )
    return None


def check(
    current: str, requested: str, trigger: str = STATUS_UPDATE_REQUESTED_TRIGGER, flags: Collection[str] = ()
) -> tuple[bool, str]:
    """May a pet in `current` (with `flags`) move to `requested` on `trigger`? Returns (allowed, reason).

    The same status twice is allowed (it is a no-op; see `is_noop`). The reason of a refusal
    is the text staff see in the 202 body and the `Transition rejected` log line.
    """
    current, requested = _value(current), _value(requested)
    if requested == Status.DELETED.value and current != requested:
        return False, "Status 'deleted' can't be requested: use DELETE /py/pets/:id to delete a pet"
    if current == Status.DELETED.value and current != requested:
        return False, "Pet is deleted: restore it with POST /py/pets/:id/restore before changing its status"
    if current == requested:
        return True, f"Pet is already {current}: nothing to change"
    if find(current, requested, trigger) is None:
        return False, f"Invalid transition: cannot change from {current} to {requested}"
    blocked = blocked_by_flags(requested, flags)
    if blocked:
        return False, blocked
    return True, f"Transition from {current} to {requested} allowed"


def description(
    current: str, requested: str, *, automatic: bool, trigger: str = STATUS_UPDATE_REQUESTED_TRIGGER
) -> str:
    """The log's description of an allowed change, worded for who asked for it."""
    transition = find(current, requested, trigger)
    if transition is None:
        raise ValueError(f"no transition from {current} to {requested} on {trigger}")
    if not automatic and transition.staff_description:
        return transition.staff_description
    return transition.description


def next_automatic(status: str) -> Status | None:
    """The status the orchestrator moves a pet on to by itself from `status`, if any."""
    try:
        return AUTOMATIC_NEXT.get(Status(_value(status)))
    except ValueError:
        return None


def _value(status: str) -> str:
    return status.value if isinstance(status, Status) else str(status)
