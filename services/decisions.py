"""What happens to a pet on each event: pure functions, a pet and an event in, a decision out.

This is the lifecycle's rule book (docs/decisions.md). Steps load the pet, ask here, apply the
decision's `patch` through the store (which runs the decision under its lock, so it is taken on the
pet as it is at that instant), log, and emit the decision's `follow_ups`. Nothing here touches a
file, a clock or the network: times come in as arguments, so every rule is unit-tested in
milliseconds (tests/services/test_decisions.py).

- `feeding_reminder`, `feeding_completed`: the spec's background job and the move to quarantine.
- `enrichment_start`, `profile_written`: the AI profile, asked for once while the pet has none.
- `status_request`: a staff or automatic status request at the orchestrator (duplicates, no-ops,
  stale automatic progressions, the transition table).
- `staff_update`: a PUT's field edits, and what it tells staff at once about a status request.
- `soft_delete`, `restore`, `purge_verdict`: DELETE, restore, the reaper.
- `missing_follow_ups`: what a pet in its current state still needs from the chain; restore and
  the reconciler both use it, so "what the pet is owed" is written once.
- `review_request`, `review_decided`: the routing agents (docs/decisions.md#15-19); an agent only
  chooses, the orchestrator applies its choice here, through the transition table and its guards.
- `care_written`, `care_follow_ups`: the treatment plan / adoption posting a pet entering under_treatment /
  available gets (built by services/treatment_plan.py and services/adoption_posting.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services import topics
from services.lifecycle import (
    FEEDING_REMINDER_COMPLETED_TRIGGER,
    NEEDS_DATA_DECISION,
    NO_TREATMENT_NEEDED_DECISION,
    STATUS_UPDATE_REQUESTED_TRIGGER,
    TREATMENT_REQUIRED_DECISION,
    blocked_by_flags,
    check,
    description,
    is_noop,
    next_automatic,
)
from services.models import AGENT_CHOICES, MAX_REVIEWS, Agent, Choice, Flag, ReviewRecord, Status, StatusUpdateRequested
from services.review_rules import held_for_staff

Pet = Mapping[str, Any]

DAY_MS = 24 * 60 * 60 * 1000
RETENTION_MS = 30 * DAY_MS  # a soft-deleted pet is kept (and restorable) this long
WELCOME_NOTES = "Welcome to our pet store! We'll take great care of this pet."
MAX_SETTLED_REQUESTS = 20  # status request ids a pet remembers, so a late copy of one is a duplicate
DELETED = Status.DELETED.value
NEW = Status.NEW.value
NEEDS_DATA = Flag.NEEDS_DATA.value
NEEDS_STAFF = Flag.NEEDS_STAFF.value

# What each agent may review (docs/decisions.md#16).
REVIEWABLE: dict[Agent, frozenset[str]] = {
    Agent.HEALTH: frozenset({Status.IN_QUARANTINE.value, Status.HEALTHY.value, Status.AVAILABLE.value}),
    Agent.ADOPTION: frozenset({Status.HEALTHY.value, Status.AVAILABLE.value}),
}
# What a pet entering a status is owed, and the field that says it has had it.
CARE_ON_ENTRY: dict[str, tuple[str, str]] = {
    Status.UNDER_TREATMENT.value: (topics.TREATMENT_REQUIRED, "treatmentPlan"),
    Status.AVAILABLE.value: (topics.ADOPTION_POSTING_REQUESTED, "adoptionPosting"),
}


class Outcome(StrEnum):
    APPLY = "apply"  # write `patch` (None: nothing to write, yet the event did its work)
    REJECT = "reject"  # refused, `reason` says why (to staff, in the log, as an event)
    SKIP = "skip"  # nothing to do; `kind` and `reason` say why


@dataclass(frozen=True)
class FollowUp:
    """An event the pet is owed after a decision: emitted by the step that applied it."""

    topic: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StatusChange:
    """An applied status change, as the log and `py.lifecycle.transition.completed` tell it."""

    old: str
    new: str
    description: str
    automatic: bool
    trigger: str
    request_id: str | None = None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    patch: dict[str, Any] | None = None
    reason: str = ""
    kind: str = ""  # for SKIP: deleted, gone, moved_on, duplicate, noop, stale, unchanged
    follow_ups: tuple[FollowUp, ...] = ()
    change: StatusChange | None = None

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLY


def _skip(kind: str, reason: str, follow_ups: tuple[FollowUp, ...] = ()) -> Decision:
    return Decision(Outcome.SKIP, kind=kind, reason=reason, follow_ups=follow_ups)


def is_deleted(pet: Pet | None) -> bool:
    return pet is not None and pet.get("status") == DELETED


# ----------------------------------------------------------------------------- follow-ups


def flags_of(pet: Pet) -> list[str]:
    flags = pet.get("flags")
    return [str(f) for f in flags] if isinstance(flags, list) else []


def automatic_follow_up(pet_id: str, status: str, flags: list[str] | tuple[str, ...] = ()) -> tuple[FollowUp, ...]:
    """The request that moves a pet on by itself from `status` (healthy, ill, recovered), if any.

    `fromStatus` makes it apply only while the pet is still there, so a late delivery can't undo a
    staff decision made since; `requestId` makes a redelivery recognisable. A flag that blocks the
    next status (`needs_data` before `available`) holds the progression until it is cleared.
    """
    following = next_automatic(status)
    if following is None or blocked_by_flags(following, flags):
        return ()
    data = {
        "petId": pet_id,
        "requestedStatus": following.value,
        "currentStatus": status,
        "fromStatus": status,
        "automatic": True,
        "requestId": uuid.uuid4().hex,
    }
    return (FollowUp(topics.STATUS_UPDATE_REQUESTED, data),)


def feeding_follow_up(pet_id: str, now: int) -> FollowUp:
    return FollowUp(topics.FEEDING_REMINDER_ENQUEUED, {"petId": pet_id, "enqueuedAt": now})


def profile_follow_up(pet: Pet) -> FollowUp:
    return FollowUp(
        topics.PROFILE_REQUESTED, {"petId": pet["id"], "name": pet.get("name"), "species": pet.get("species")}
    )


def care_follow_ups(pet: Pet) -> tuple[FollowUp, ...]:
    """The treatment plan of a pet under treatment, the posting of an available pet, while missing."""
    care = CARE_ON_ENTRY.get(str(pet.get("status")))
    if care is None or pet.get(care[1]) is not None:
        return ()
    return (FollowUp(care[0], {"petId": pet["id"]}),)


def _entering(pet: Pet, status: str) -> tuple[dict[str, Any], tuple[FollowUp, ...]]:
    """What a status change to `status` writes besides `status`, and what it is owed next: a fresh
    treatment plan or adoption posting (the old one belonged to an earlier stay), then whatever
    follows by itself."""
    care = CARE_ON_ENTRY.get(status)
    patch: dict[str, Any] = {care[1]: None} if care else {}
    moved = {**pet, **patch, "status": status}
    return patch, care_follow_ups(moved) + automatic_follow_up(pet["id"], status, flags_of(moved))


def missing_follow_ups(pet: Pet, now: int) -> tuple[FollowUp, ...]:
    """What the chain still owes a pet in its current state (nothing for a deleted pet).

    A `new` pet is owed its feeding reminder (whose job then moves it to quarantine), a pet without
    a profile its enrichment, a pet in a status that moves on by itself its progression. Every
    handler these reach is idempotent, so owing something twice costs a redundant event, never a
    wrong pet.
    """
    if is_deleted(pet):
        return ()
    owed: list[FollowUp] = []
    status = str(pet.get("status"))
    if status == NEW:
        owed.append(feeding_follow_up(pet["id"], now))
    if pet.get("profile") is None:
        owed.append(profile_follow_up(pet))
    owed.extend(care_follow_ups(pet))
    pending = pet.get("pendingStatusRequest")
    if isinstance(pending, dict) and pending.get("requestId"):
        owed.append(_staff_request(pet, str(pending.get("requestedStatus")), str(pending["requestId"])))
    else:
        owed.extend(automatic_follow_up(pet["id"], status, flags_of(pet)))
    return tuple(owed)


def _staff_request(pet: Pet, requested: str, request_id: str) -> FollowUp:
    data = {
        "petId": pet["id"],
        "requestedStatus": requested,
        "currentStatus": pet.get("status"),
        "automatic": False,
        "requestId": request_id,
    }
    return FollowUp(topics.STATUS_UPDATE_REQUESTED, data)


# ----------------------------------------------------------------------------- the chain


def intake(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new pet's fields, before the store gives it an id and its times: the validated payload,
    status `new`, and the lifecycle fields null, so clients always see the same keys in the same
    order (createdAt and updatedAt keep their places after status)."""
    return {
        **fields,
        "status": NEW,
        "createdAt": None,
        "updatedAt": None,
        "notes": None,
        "nextFeedingAt": None,
        "deletedAt": None,
        "purgeAt": None,
        "profile": None,
        "enrichmentStartedAt": None,
        "flags": [],
        "reviews": [],
        "treatmentPlan": None,
        "adoptionPosting": None,
        "timelineSeq": 0,
        "timelineOutbox": [],
    }


def feeding_reminder(pet: Pet) -> Decision:
    """The feeding job: welcome notes (unless someone wrote notes) and nextFeedingAt = createdAt + 24 h.

    A redelivery computes the same values again: APPLY with no patch, and the step still reports
    completion (which the orchestrator ignores once the pet has moved on).
    """
    if is_deleted(pet):
        return _skip("deleted", "pet is soft-deleted (a restore queues the reminder again)")
    patch: dict[str, Any] = {"nextFeedingAt": pet["createdAt"] + DAY_MS}
    if not pet.get("notes"):
        patch["notes"] = WELCOME_NOTES
    unchanged = all(pet.get(k) == v for k, v in patch.items())
    return Decision(Outcome.APPLY, patch=None if unchanged else patch)


def _profile_owed(pet: Pet) -> Decision | None:
    """Why the enricher has nothing to do for this pet (a SKIP), or None while it is owed a profile."""
    if is_deleted(pet):
        return _skip("deleted", "pet is soft-deleted")
    if pet.get("profile") is not None:
        return _skip("unchanged", "pet already has a profile")
    return None


def enrichment_start(pet: Pet, now: int) -> Decision:
    """May the enricher ask the model for this pet's profile? Only while it is owed one: not for a
    soft-deleted pet (a restore asks again), and not again once it has one (a redelivered request).
    The first start is stamped (`enrichmentStartedAt`); a retry of the same enrichment (the process
    died during the call) finds it stamped and writes nothing, so it is told once."""
    skip = _profile_owed(pet)
    if skip is not None:
        return skip
    return Decision(Outcome.APPLY, patch=None if pet.get("enrichmentStartedAt") else {"enrichmentStartedAt": now})


def profile_written(pet: Pet, profile: Mapping[str, Any]) -> Decision:
    """The enricher's result: stored on the pet, unless it was soft-deleted while the model answered
    (a restore asks for a profile again) or another delivery of the request stored one first. Only
    `profile` is written (and the start's stamp cleared): `status` is not the enricher's."""
    skip = _profile_owed(pet)
    if skip is not None:
        return skip
    return Decision(Outcome.APPLY, patch={"profile": dict(profile), "enrichmentStartedAt": None})


def feeding_completed(pet: Pet) -> Decision:
    """The feeding job is done: a `new` pet moves to quarantine; anything else has moved on already."""
    current = str(pet.get("status"))
    if current != NEW:
        return _skip("moved_on", f"pet is already {current}")
    target = Status.IN_QUARANTINE.value
    change = StatusChange(
        current,
        target,
        description(current, target, automatic=True, trigger=FEEDING_REMINDER_COMPLETED_TRIGGER),
        automatic=True,
        trigger=FEEDING_REMINDER_COMPLETED_TRIGGER,
    )
    return Decision(Outcome.APPLY, patch={"status": target}, change=change)


def status_request(pet: Pet, request: StatusUpdateRequested) -> Decision:
    """A status request at the orchestrator, judged against the pet as it is now.

    - the request was settled before (same `requestId` as one of the last ones, applied or rejected):
      nothing to do, but what follows by itself from here is requested again (the crash that lost it
      may be why this is a redelivery);
    - the pet already has that status: the same;
    - an automatic progression whose pet has left `fromStatus` meanwhile: stale, dropped;
    - otherwise the transition table decides: APPLY (with the next automatic step) or REJECT.
    """
    pet_id, current, requested = pet["id"], str(pet.get("status")), request.requestedStatus.value
    # The staff request this answers is no longer pending, whatever the answer.
    pending = pet.get("pendingStatusRequest")
    settled = (
        {"pendingStatusRequest": None}
        if isinstance(pending, dict) and pending.get("requestId") == request.requestId
        else None
    )
    owed_here = care_follow_ups(pet) + automatic_follow_up(pet_id, current, flags_of(pet))
    if request.requestId and request.requestId in settled_request_ids(pet):
        return Decision(Outcome.SKIP, settled, "request already settled", "duplicate", owed_here)
    if is_noop(current, requested):
        return Decision(Outcome.SKIP, settled, f"pet is already {current}", "noop", owed_here)
    if request.automatic and request.fromStatus and current != request.fromStatus.value:
        return _skip("stale", f"pet is {current} now, not {request.fromStatus.value}")
    allowed, reason = check(current, requested, flags=flags_of(pet))
    if not allowed:  # settled for good: a redelivery must not apply it later, once the table would allow it
        seen = _settling(pet, request.requestId) if request.requestId else {}
        return Decision(Outcome.REJECT, patch={**(settled or {}), **seen} or None, reason=reason)
    change = StatusChange(
        current,
        requested,
        description(current, requested, automatic=request.automatic),
        automatic=request.automatic,
        trigger=STATUS_UPDATE_REQUESTED_TRIGGER,
        request_id=request.requestId,
    )
    entry_patch, follow_ups = _entering(pet, requested)
    return Decision(
        Outcome.APPLY,
        patch={"status": requested, **_settling(pet, request.requestId), **entry_patch, **(settled or {})},
        change=change,
        follow_ups=follow_ups,
    )


def settled_request_ids(pet: Pet) -> list[str]:
    """The status requests the orchestrator settled last, oldest first (`lastStatusRequestId` and the
    MAX_SETTLED_REQUESTS before it): a copy of an older one, delivered late, is recognised too."""
    recent = pet.get("settledStatusRequestIds")
    ids = [str(i) for i in recent] if isinstance(recent, list) else []
    last = pet.get("lastStatusRequestId")
    return ids if not last or last in ids else [*ids, str(last)]


def _settling(pet: Pet, request_id: str | None) -> dict[str, Any]:
    if not request_id:
        return {"lastStatusRequestId": None}
    return {
        "lastStatusRequestId": request_id,
        "settledStatusRequestIds": [*settled_request_ids(pet), request_id][-MAX_SETTLED_REQUESTS:],
    }


# ----------------------------------------------------------------------------- staff actions


def staff_update(pet: Pet, changes: Mapping[str, Any], requested: str | None, now: int) -> Decision:
    """A PUT: field edits, written at once, and what the PUT tells staff about a requested status.

    - deleted pet: REJECT (kind `deleted`), nothing written (a restore comes first);
    - flags that would block the status the pet has (`needs_data` on an available pet): REJECT
      (kind `flag_blocks`), nothing written: the adoption review is what takes a pet back;
    - no status asked for: APPLY the edits (clearing `needs_data` from a healthy pet lets its
      automatic progression to `available` go on: the follow-up);
    - the status it already has: SKIP (kind `noop`), the edits applied;
    - ruled out by the table: REJECT (kind `table`) with the reason, the edits applied;
    - otherwise APPLY: the edits, and the request recorded on the pet as `pendingStatusRequest`
      in the same write, then passed on to the orchestrator (the follow-up). Recorded first, it
      can't be lost: until the orchestrator settles it, the reconciler passes it on again, and a
      client reading the pet sees it waiting.
    """
    pet_id, current = pet["id"], str(pet.get("status"))
    if is_deleted(pet):
        return Decision(
            Outcome.REJECT,
            kind="deleted",
            reason=f"Pet {pet_id} is deleted: restore it with POST /py/pets/{pet_id}/restore before changing it",
        )
    edits = dict(changes) or None
    flags = [str(f) for f in changes["flags"]] if "flags" in changes else flags_of(pet)
    if "flags" in changes and blocked_by_flags(current, flags):
        return Decision(
            Outcome.REJECT,
            kind="flag_blocks",
            reason=f"Pet {pet_id} is {current}, which a pet flagged {NEEDS_DATA} can't be: "
            "an adoption review that finds it needs data takes it back to healthy",
        )
    if requested is None:
        unblocked = NEEDS_DATA in flags_of(pet) and NEEDS_DATA not in flags
        return Decision(
            Outcome.APPLY, patch=edits, follow_ups=automatic_follow_up(pet_id, current, flags) if unblocked else ()
        )
    if is_noop(current, requested):
        return Decision(Outcome.SKIP, patch=edits, kind="noop", reason=f"Pet is already {current}: nothing to change")
    allowed, reason = check(current, requested, flags=flags)
    if not allowed:
        return Decision(Outcome.REJECT, patch=edits, kind="table", reason=reason)
    request_id = uuid.uuid4().hex
    pending = {"requestId": request_id, "requestedStatus": requested, "requestedAt": now}
    return Decision(
        Outcome.APPLY,
        patch={**(edits or {}), "pendingStatusRequest": pending},
        follow_ups=(_staff_request(pet, requested, request_id),),
    )


# ----------------------------------------------------------------------------- routing agents


def review_request(pet: Pet, agent: Agent) -> Decision:
    """May staff ask `agent` to review this pet now? APPLY (nothing to write: the request is an
    event) or REJECT with the reason the 409 gives (docs/decisions.md#16)."""
    pet_id, current = pet["id"], str(pet.get("status"))
    if is_deleted(pet):
        return Decision(
            Outcome.REJECT, kind="deleted", reason=f"Pet {pet_id} is deleted: restore it before asking for a review"
        )
    allowed = REVIEWABLE[agent]
    if current not in allowed:
        statuses = ", ".join(s for s in (st.value for st in Status) if s in allowed)
        article = "an" if agent.value[0] in "aeiou" else "a"
        return Decision(
            Outcome.REJECT,
            kind="status",
            reason=f"Pet {pet_id} is {current}: {article} {agent.value} review needs a pet that is {statuses}",
        )
    return Decision(Outcome.APPLY)


# What each choice does to a pet, by its status (docs/decisions.md#17): the trigger of the
# transition table it goes through, and the status it asks for.
_CHOICE_MOVES: dict[Choice, tuple[str, dict[str, str]]] = {
    Choice.TREATMENT_REQUIRED: (TREATMENT_REQUIRED_DECISION, {s: Status.ILL.value for s in REVIEWABLE[Agent.HEALTH]}),
    Choice.NO_TREATMENT_NEEDED: (NO_TREATMENT_NEEDED_DECISION, {Status.IN_QUARANTINE.value: Status.HEALTHY.value}),
    Choice.NEEDS_DATA: (NEEDS_DATA_DECISION, {Status.AVAILABLE.value: Status.HEALTHY.value}),
    Choice.READY: ("", {}),
}


def review_decided(pet: Pet, review: ReviewRecord) -> Decision:
    """An agent's decision at the orchestrator: recorded under `reviews` (the last MAX_REVIEWS),
    and applied through the transition table and its guards.

    - deleted pet, or a choice its agent may not make: nothing applied (SKIP / REJECT);
    - a review already recorded (a redelivery): SKIP, what the pet is owed asked for again;
    - `needs_data` adds the flag (an available pet goes back to healthy); `ready` clears it, and a
      healthy pet then moves on to available by itself;
    - `treatment_required` makes an in_quarantine, healthy or available pet ill (then, by itself,
      under_treatment); `no_treatment_needed` clears an in_quarantine pet to healthy. In any other
      status the decision is recorded and changes nothing;
    - a model's choice against the rules in the unsafe direction (`review_rules.held_for_staff`:
      no treatment for a pet with symptoms, ready without the essentials) is recorded with why
      (`heldForStaff`), not applied, and the pet is flagged `needs_staff` (kind `held_for_staff`).
    """
    pet_id, current = pet["id"], str(pet.get("status"))
    if is_deleted(pet):
        return _skip("deleted", "pet is soft-deleted")
    if review.choice not in AGENT_CHOICES[review.agent]:
        return Decision(Outcome.REJECT, reason=f"a {review.agent.value} review can't choose {review.choice.value}")
    reviews = [r for r in pet.get("reviews") or [] if isinstance(r, dict)]
    if any(r.get("id") == review.id for r in reviews):
        return _skip(
            "duplicate",
            "review already applied",
            care_follow_ups(pet) + automatic_follow_up(pet_id, current, flags_of(pet)),
        )

    held = held_for_staff(review)
    if held is not None:  # recorded, not applied: staff decide
        record = review.model_copy(update={"heldForStaff": held}).model_dump(mode="json")
        held_patch: dict[str, Any] = {"reviews": [*reviews, record][-MAX_REVIEWS:]}
        if NEEDS_STAFF not in flags_of(pet):
            held_patch["flags"] = [*flags_of(pet), NEEDS_STAFF]
        return Decision(Outcome.APPLY, patch=held_patch, kind="held_for_staff", reason=held)

    flags = flags_of(pet)
    if review.choice is Choice.NEEDS_DATA and NEEDS_DATA not in flags:
        flags = [*flags, NEEDS_DATA]
    elif review.choice is Choice.READY:
        flags = [f for f in flags if f != NEEDS_DATA]
    patch: dict[str, Any] = {"reviews": [*reviews, review.model_dump(mode="json")][-MAX_REVIEWS:]}
    if flags != flags_of(pet):
        patch["flags"] = flags

    trigger, moves = _CHOICE_MOVES[review.choice]
    target = moves.get(current)
    if target is None:  # nothing to move; what follows by itself may have been unblocked (ready)
        return Decision(
            Outcome.APPLY,
            patch=patch,
            reason=f"pet is {current}: {review.choice.value} changes no status",
            follow_ups=automatic_follow_up(pet_id, current, flags),
        )
    allowed, reason = check(current, target, trigger, flags)
    if not allowed:  # the table and the moves above agree; a guard can still say no
        return Decision(Outcome.APPLY, patch=patch, reason=reason)
    change = StatusChange(
        current,
        target,
        description(current, target, automatic=False, trigger=trigger),
        automatic=False,
        trigger=trigger,
        request_id=review.id,
    )
    entry_patch, follow_ups = _entering({**pet, "flags": flags}, target)
    return Decision(
        Outcome.APPLY, patch={**patch, "status": target, **entry_patch}, change=change, follow_ups=follow_ups
    )


def care_written(pet: Pet, field_name: str, value: Mapping[str, Any]) -> Decision:
    """A treatment plan (`treatmentPlan`) or adoption posting (`adoptionPosting`) for the pet.

    Written only while the pet is in the status that asked for it and has none yet: a redelivery,
    or a pet that moved on meanwhile, changes nothing.
    """
    status = next(s for s, (_, f) in CARE_ON_ENTRY.items() if f == field_name)
    current = str(pet.get("status"))
    if current != status:
        return _skip("moved_on", f"pet is {current} now, not {status}")
    if pet.get(field_name) is not None:
        return _skip("unchanged", f"pet already has its {field_name}")
    return Decision(Outcome.APPLY, patch={field_name: dict(value)})


# ----------------------------------------------------------------------------- staff actions (delete, restore)


def soft_delete(pet: Pet, now: int) -> Decision:
    """DELETE: status deleted, purgeAt 30 days on, the status it had kept for a restore.
    Deleting a deleted pet changes nothing (its purge time is not pushed back)."""
    if is_deleted(pet):
        return _skip("deleted", "pet is already deleted")
    patch = {
        "status": DELETED,
        "statusBeforeDelete": pet.get("status"),
        "deletedAt": now,
        "purgeAt": now + RETENTION_MS,
        "updatedAt": now,
        **({"pendingStatusRequest": None} if pet.get("pendingStatusRequest") else {}),
    }
    return Decision(Outcome.APPLY, patch=patch)


def restore(pet: Pet, now: int) -> Decision:
    """Undo a soft delete within its window, back to the status it had; the chain then resumes
    whatever the pet is owed (feeding reminder, profile, automatic progression).

    Refused when the pet is not deleted, or once purgeAt has passed (the reaper may run at any
    moment then; a restore must not race it).
    """
    pet_id = pet["id"]
    if not is_deleted(pet):
        return Decision(Outcome.REJECT, reason=f"Pet {pet_id} is not deleted (status is {pet.get('status')})")
    purge_at = pet.get("purgeAt")
    if isinstance(purge_at, (int, float)) and purge_at <= now:
        return Decision(Outcome.REJECT, reason=f"Pet {pet_id} can no longer be restored: its purge time has passed")
    patch = {
        "status": pet.get("statusBeforeDelete") or NEW,
        "statusBeforeDelete": None,
        "deletedAt": None,
        "purgeAt": None,
        "enrichmentStartedAt": None,
    }  # an enrichment the delete cut short starts afresh
    return Decision(Outcome.APPLY, patch=patch, follow_ups=missing_follow_ups({**pet, **patch}, now))


@dataclass(frozen=True)
class PurgeVerdict:
    purge: bool
    problem: str | None = None  # a deleted pet that can't be judged (a hand edit): kept, and reported


def purge_verdict(pet: Pet, now: int) -> PurgeVerdict | None:
    """The reaper's rule: a deleted pet whose purgeAt has passed goes. None: not the reaper's business.
    A deleted pet without a usable purgeAt is kept: better a pet too many than one deleted by mistake."""
    if not is_deleted(pet):
        return None
    purge_at = pet.get("purgeAt")
    if not isinstance(purge_at, (int, float)) or isinstance(purge_at, bool):
        return PurgeVerdict(False, f"purgeAt is {purge_at!r}, not a time in epoch ms")
    return PurgeVerdict(purge_at <= now)
