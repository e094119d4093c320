"""A pet's timeline: the stream `petTimeline`, group = the pet's id, one item per event of its life.

This is the one place that builds timeline items and gets them onto the stream
(docs/decisions.md#20, #38). Steps call it around the store write they make anyway:

    now = now_ms()
    change = await get_store().amodify(pet_id, timeline.recording(decide, timeline.told_x))
    await timeline.publish(context, change.after, since=change.before)

Why this way, and why nothing is lost (docs/decisions.md#38):
1. The item is written with the change it tells of, in the same atomic write of pets.json:
   `recording` wraps a decision so that its patch also appends the items its teller (`told_*`)
   makes of it to the pet's `timelineOutbox`, numbered by the pet's own sequence (`timelineSeq`).
2. `publish` then sets them on the stream. They leave the outbox with the pet's next write
   (`recording` takes out what this process has seen published), or the reconciler's, so
   publishing costs no write of its own. A failed stream write is logged, not raised: the items
   wait in the outbox.
3. A process that dies between 1 and 2 leaves them in the outbox: the reconciler publishes them
   (`publish_leftovers`: whatever the stream lacks), and GET /py/pets/:id/timeline shows them
   meanwhile (`items_of`).

A redelivered event adds nothing: the decisions recognise a repeat (SKIP, or APPLY with nothing to
write) and the tellers make no item of it. Ids come from the pet's sequence, taken under the store's
lock, so they sort in the order the changes were made, whatever the clocks do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.clock import iso_time, now_ms
from services.decisions import Decision, Outcome, StatusChange
from services.models import ReviewRecord, Status, TimelineEntry, TimelineKind
from services.store import get_store
from services.store_contract import Pet, StoreError

if TYPE_CHECKING:
    from steprunner.step_types import Context, StreamManager

STREAM = "petTimeline"
ID_DIGITS = 6  # a million items per pet before ids stop sorting as text
OUTBOX = "timelineOutbox"
SEQ = "timelineSeq"
ITEM_FIELDS = ("id", *TimelineEntry.model_fields)  # what an item is, without the stream's own keys

Kind = TimelineKind
Item = dict[str, Any]


@dataclass(frozen=True)
class Entry:
    """An item before it has its place in the timeline (id and time)."""

    kind: Kind
    message: str
    data: dict[str, Any]


Teller = Callable[[Pet, Decision], Sequence[Entry]]


class _Published:
    """The outbox items this process has put on the stream, by pet: the pet's next write
    takes them out of its outbox (`recording`), so publishing costs no write of its own. What is
    not known here (published by another process, or before a restart) stays in the outbox until
    the reconciler finds it on the stream. Entries go once the item is out of the outbox."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, Any], set[str]] = {}
        self._lock = threading.Lock()  # `recording` runs on the store's committer thread

    @staticmethod
    def _key(pet: Mapping[str, Any]) -> tuple[str, Any]:
        return (pet["id"], pet.get("createdAt"))  # not the id alone: another DATA_DIR has a pet "1" too

    def of(self, pet: Mapping[str, Any]) -> set[str]:
        with self._lock:
            return set(self._ids.get(self._key(pet), ()))

    def add(self, pet: Mapping[str, Any], ids: Iterable[str]) -> None:
        with self._lock:
            self._ids.setdefault(self._key(pet), set()).update(ids)

    def settle(self, pet: Mapping[str, Any]) -> None:
        """Forget what is no longer in the pet's outbox."""
        with self._lock:
            left = self._ids.get(self._key(pet), set()) & {i["id"] for i in outbox_of(pet)}
            if left:
                self._ids[self._key(pet)] = left
            else:
                self._ids.pop(self._key(pet), None)


_PUBLISHED = _Published()


def item_id(seq: int) -> str:
    return f"{seq:0{ID_DIGITS}d}"


# ----------------------------------------------------------------------------- recording


def _appended(pet: Mapping[str, Any], entries: Sequence[Entry], now: int) -> dict[str, Any]:
    """The patch that numbers `entries` after the pet's last item and adds them to its outbox."""
    seq = int(pet.get(SEQ) or 0)
    items = [
        {"id": item_id(seq + n), "at": now, "kind": e.kind.value, "message": e.message, "data": e.data}
        for n, e in enumerate(entries, start=1)
    ]
    return {SEQ: seq + len(items), OUTBOX: [*outbox_of(pet), *items]}


def recording(
    decide: Callable[[Pet], Decision], tell: Teller, clock: Callable[[], int] = now_ms
) -> Callable[[Pet], Decision]:
    """`decide`, with the items `tell` makes of its decision written in the same patch, and the
    outbox items this process has seen on the stream taken out of it (a write that happens anyway
    clears them for free). An item's time is read under the store's lock, like its id, so times
    and ids keep one order even when two processes write the pet one after the other. An item
    alone (a rejection) leaves `updatedAt` as it was: the pet itself did not change."""

    def decide_and_record(pet: Pet) -> Decision:
        decision = decide(pet)
        entries = tell(pet, decision)
        if not entries and not decision.patch:
            return decision  # nothing is written: nothing to clear either
        box = outbox_of(pet)
        on_stream = _PUBLISHED.of(pet) & {i["id"] for i in box}
        if not entries and not on_stream:
            return decision
        unchanged = {} if decision.patch else {"updatedAt": pet.get("updatedAt")}
        kept = {**pet, OUTBOX: [i for i in box if i["id"] not in on_stream]}
        return dataclasses.replace(
            decision, patch={**(decision.patch or unchanged), **_appended(kept, entries, clock())}
        )

    return decide_and_record


def admitted(fields: Mapping[str, Any], now: int) -> dict[str, Any]:
    """A new pet's fields (`decisions.intake`) with its first item, "created", in its outbox."""
    return {**fields, **_appended(fields, [created(fields)], now)}


def outbox_of(pet: Mapping[str, Any]) -> list[Item]:
    box = pet.get(OUTBOX)
    return [i for i in box if isinstance(i, dict) and isinstance(i.get("id"), str)] if isinstance(box, list) else []


# ----------------------------------------------------------------------------- the tellers


def created(pet: Mapping[str, Any]) -> Entry:
    return Entry(
        Kind.CREATED,
        f"🐾 {pet.get('name')} the {pet.get('species')} was taken in",
        {
            "name": pet.get("name"),
            "species": pet.get("species"),
            "ageMonths": pet.get("ageMonths"),
            "status": Status.NEW.value,
        },
    )


def told_feeding_reminder(pet: Pet, decision: Decision) -> list[Entry]:
    """The feeding job wrote its values (a redelivery, which finds them written, tells nothing)."""
    if not decision.applied or not decision.patch:
        return []
    after = {**pet, **decision.patch}
    at = after.get("nextFeedingAt")
    return [
        Entry(
            Kind.FEEDING_REMINDER_SET,
            f"✅ Next feeding reminder set for {iso_time(at)}",
            {"nextFeedingAt": at, "notes": after.get("notes")},
        )
    ]


def status_changed(change: StatusChange) -> Entry:
    data = {
        "oldStatus": change.old,
        "newStatus": change.new,
        "automatic": change.automatic,
        "trigger": change.trigger,
        "requestId": change.request_id,
    }
    return Entry(Kind.STATUS_CHANGED, f"✅ {change.description} ({change.old} -> {change.new})", data)


def rejected(current: str, requested: str, reason: str, automatic: bool, request_id: str | None) -> Entry:
    data = {
        "currentStatus": current,
        "requestedStatus": requested,
        "reason": reason,
        "automatic": automatic,
        "requestId": request_id,
    }
    return Entry(Kind.STATUS_CHANGE_REJECTED, f"⚠️ Status change to {requested} rejected: {reason}", data)


def told_transition(pet: Pet, decision: Decision) -> list[Entry]:
    """A status the orchestrator changed (the move to quarantine, a request, an agent's decision)."""
    return [status_changed(decision.change)] if decision.applied and decision.change is not None else []


def told_status_request(requested: str, automatic: bool, request_id: str | None) -> Teller:
    """A status request at the orchestrator: the transition, or the rejection (a repeat is a SKIP: nothing)."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if decision.outcome is Outcome.REJECT:
            return [rejected(str(pet.get("status")), requested, decision.reason, automatic, request_id)]
        return told_transition(pet, decision)

    return tell


def told_staff_update(requested: str | None) -> Teller:
    """A PUT: only a status request the transition table rules out at once is told (the rest is
    told by the orchestrator when it acts)."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if requested is None or decision.outcome is not Outcome.REJECT or decision.kind != "table":
            return []
        return [rejected(str(pet.get("status")), requested, decision.reason, False, None)]

    return tell


def told_review(review: ReviewRecord) -> Teller:
    """An agent's decision as the orchestrator recorded it, then the status change it made, if any."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if not decision.applied:
            return []
        source = f"model {review.model}" if review.source == "model" and review.model else review.source
        if review.source == "fallback" and review.fallbackReason:
            source = f"fallback: {review.fallbackReason}"
        choice = review.choice.value.replace("_", " ")
        data = {
            "reviewId": review.id,
            "agent": review.agent.value,
            "choice": review.choice.value,
            "source": review.source,
            "rationale": review.rationale,
            "effect": decision.reason or None,
        }
        if decision.kind == "held_for_staff":
            title = f"✋ {review.agent.value.capitalize()} review held for staff: {choice} ({source}) not applied"
            return [Entry(Kind.REVIEW_DECIDED, title, {**data, "heldForStaff": True})]
        return [
            Entry(
                Kind.REVIEW_DECIDED, f"🧭 {review.agent.value.capitalize()} review decided: {choice} ({source})", data
            ),
            *told_transition(pet, decision),
        ]

    return tell


def told_review_requested(agent: str, title: str, review_id: str, requested_at: int) -> Teller:
    """A review request as its agent takes it up. Told once per review id: not again while the item
    waits in the outbox (a redelivery after a crash), nor once the decision is recorded."""

    def tell(pet: Pet, _decision: Decision) -> list[Entry]:
        decided = any(isinstance(r, dict) and r.get("id") == review_id for r in pet.get("reviews") or [])
        if decided or any(
            i["kind"] == Kind.REVIEW_REQUESTED and i["data"].get("reviewId") == review_id for i in outbox_of(pet)
        ):
            return []
        status = pet.get("status")
        return [
            Entry(
                Kind.REVIEW_REQUESTED,
                f"📋 {title} requested (pet is {status})",
                {"reviewId": review_id, "agent": agent, "requestedAt": requested_at, "status": status},
            )
        ]

    return tell


def told_enrichment_started(pet: Pet, decision: Decision) -> list[Entry]:
    """The first start of an enrichment (a retry of the same one writes nothing, and tells nothing)."""
    if not decision.applied or not decision.patch:
        return []
    return [
        Entry(
            Kind.ENRICHMENT_STARTED,
            "🤖 AI profile enrichment started",
            {"name": pet.get("name"), "species": pet.get("species")},
        )
    ]


def _gist(profile: Mapping[str, Any]) -> dict[str, Any]:
    """What the timeline keeps of a profile (the whole of it is on the pet): its breed guess and tags."""
    return {"breedGuess": profile.get("breedGuess"), "temperamentTags": profile.get("temperamentTags")}


def told_enrichment_finished(profile: Mapping[str, Any], error: str | None, *, ai_off: bool = False) -> Teller:
    """The profile stored: the model's (completed), the template's with AI off (no key), or the fallback
    after a failed call (failed, and why)."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if not decision.applied:
            return []
        if ai_off:
            return [
                Entry(
                    Kind.PROFILE_FROM_TEMPLATE,
                    "📄 Profile written from the shelter's template (AI is off)",
                    {"fallback": True, "reason": error, **_gist(profile)},
                )
            ]
        if error is not None:
            return [
                Entry(
                    Kind.ENRICHMENT_FAILED,
                    f"❌ AI profile enrichment failed ({error}): fallback profile stored",
                    {"error": error, "fallback": True, **_gist(profile)},
                )
            ]
        return [
            Entry(
                Kind.ENRICHMENT_COMPLETED,
                f"✅ AI profile written: {profile.get('breedGuess')}",
                {"fallback": False, **_gist(profile)},
            )
        ]

    return tell


def _plan_told(plan: Mapping[str, Any]) -> Entry:
    schedule = plan.get("schedule") or {}
    data = {
        "treatmentType": plan.get("treatmentType"),
        "urgency": plan.get("urgency"),
        "startsAt": schedule.get("startsAt"),
    }
    return Entry(
        Kind.TREATMENT_PLAN_WRITTEN,
        f"📅 Treatment plan written: {data['treatmentType']}, {data['urgency']}, starting {iso_time(data['startsAt'])}",
        data,
    )


def _posting_told(posting: Mapping[str, Any]) -> Entry:
    data = {"title": posting.get("title"), "adoptionFee": posting.get("adoptionFee")}
    return Entry(
        Kind.ADOPTION_POSTING_WRITTEN, f"📝 Adoption posting written: {data['title']} (fee {data['adoptionFee']})", data
    )


# What the timeline keeps of each (the whole of it is on the pet).
CARE_TOLD: dict[str, Callable[[Mapping[str, Any]], Entry]] = {
    "treatmentPlan": _plan_told,
    "adoptionPosting": _posting_told,
}


def told_care(field_name: str) -> Teller:
    """A treatment plan or adoption posting written (`decisions.care_written`; a repeat tells nothing)."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if not decision.applied or not decision.patch or not isinstance(decision.patch.get(field_name), Mapping):
            return []
        return [CARE_TOLD[field_name](decision.patch[field_name])]

    return tell


def told_deleted(pet: Pet, decision: Decision) -> list[Entry]:
    if not decision.applied or not decision.patch:
        return []
    patch = decision.patch
    data = {
        "previousStatus": patch.get("statusBeforeDelete"),
        "deletedAt": patch.get("deletedAt"),
        "purgeAt": patch.get("purgeAt"),
    }
    return [Entry(Kind.DELETED, f"🗑️ Pet soft deleted: restorable until {iso_time(patch.get('purgeAt'))}", data)]


def told_restored(pet: Pet, decision: Decision) -> list[Entry]:
    if not decision.applied or not decision.patch:
        return []
    status = decision.patch.get("status")
    return [Entry(Kind.RESTORED, f"♻️ Pet restored, back to {status}", {"status": status})]


# ----------------------------------------------------------------------------- the stream


def _stream(context: Context) -> StreamManager:
    return context.streams[STREAM]  # a dict on both runtimes (Motia's DotDict, steprunner's namespace)


def _entry_data(item: Item) -> dict[str, Any]:
    """What `set` stores: the entry, and `_createdAt` = its time, so both runtimes' `getGroup` keep time order."""
    return {
        "at": item["at"],
        "kind": item["kind"],
        "message": item["message"],
        "data": item["data"],
        "_createdAt": item["at"],
    }


def _plain(item: Mapping[str, Any]) -> Item:
    return {k: item.get(k) for k in ITEM_FIELDS}


async def publish(context: Context, pet: Pet, since: Pet | None = None) -> None:
    """Set on the stream the items of `pet`'s outbox that `since` did not have (the ones this write
    added). They stay in the outbox until the pet's next write (or the reconciler) takes them out:
    a write of its own per publish would cost the chain a second round of pets.json writes. Never
    raises (as `responses.emit_follow_ups` does not): what could not be published waits in the
    outbox for the reconciler."""
    _PUBLISHED.settle(pet)
    known = {i["id"] for i in outbox_of(since)} if since is not None else set()
    published = await _set_all(context, pet["id"], [i for i in outbox_of(pet) if i["id"] not in known])
    _PUBLISHED.add(pet, published)


async def publish_leftovers(context: Context, pets: Iterable[Pet], before: int) -> dict[str, int]:
    """The reconciler's part: of the outbox items recorded up to `before` (epoch ms: later ones are
    most likely being published by their step right now), set those the stream lacks (a process
    died between the write and the stream), then take them out of the outboxes, all at once (the
    store commits them together). Returns, by pet, how many were missing from the stream."""
    stream = _stream(context)
    missing_by_pet: dict[str, int] = {}
    cleared: list[tuple[Pet, list[str]]] = []
    for pet in pets:
        pet_id, seen = pet["id"], _PUBLISHED.of(pet)
        missing: list[Item] = []
        present: list[str] = []
        for item in (i for i in outbox_of(pet) if isinstance(i.get("at"), int) and i["at"] <= before):
            if item["id"] in seen or await stream.get(pet_id, item["id"]) is not None:
                present.append(item["id"])
            else:
                missing.append(item)
        published = await _set_all(context, pet_id, missing)
        if published:
            missing_by_pet[pet_id] = len(published)
        if present or published:
            cleared.append((pet, present + published))
    await asyncio.gather(*(_clear(context, pet, ids) for pet, ids in cleared))
    return missing_by_pet


async def _set_all(context: Context, pet_id: str, items: Iterable[Item]) -> list[str]:
    stream, done = _stream(context), []
    for item in items:
        try:
            await stream.set(pet_id, item["id"], _entry_data(item))
        except Exception as exc:  # noqa: BLE001 - the item stays in the outbox; the reconciler publishes it
            context.logger.error(
                "❌ Timeline item not published; the reconciler will publish it",
                {"petId": pet_id, "itemId": item["id"], "error": f"{type(exc).__name__}: {exc}"},
            )
            break  # the rest after it: keeps the stream in id order
        done.append(item["id"])
    return done


async def _clear(context: Context, pet: Pet, ids: Sequence[str]) -> None:
    if not ids:
        return
    gone = set(ids)

    def cleared(current: Pet) -> Decision:
        box = outbox_of(current)
        left = [i for i in box if i["id"] not in gone]
        if len(left) == len(box):
            return Decision(Outcome.SKIP, kind="unchanged")
        return Decision(
            Outcome.APPLY, patch={OUTBOX: left, "updatedAt": current.get("updatedAt")}
        )  # not a change of the pet's

    try:
        change = await get_store().amodify(pet["id"], cleared)
    except StoreError as exc:  # published all the same; the next run clears it
        context.logger.error("❌ Timeline outbox not cleared", {"petId": pet["id"], "error": str(exc)})
        return
    if change is not None:
        _PUBLISHED.settle(change.after)


async def items_of(context: Context, pet: Pet) -> list[Item]:
    """The pet's whole timeline, oldest first: the stream's items and any still in the outbox."""
    items = {i["id"]: _plain(i) for i in await _stream(context).getGroup(pet["id"]) or [] if isinstance(i, dict)}
    items.update({i["id"]: _plain(i) for i in outbox_of(pet)})
    return [items[k] for k in sorted(items)]


async def purge(context: Context, pet_id: str) -> int:
    """Delete every item of the pet's timeline (the reaper, before it purges the pet). Returns how many."""
    stream = _stream(context)
    items = await stream.getGroup(pet_id) or []
    for item in items:
        await stream.delete(pet_id, item["id"])
    return len(items)
