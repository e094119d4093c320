"""A pet's timeline: the stream `petTimeline`, group = the pet's id, one item per event of its life.

This is the one place that builds timeline items and gets them onto the stream
(docs/decisions.md#20, #37). Steps call it around the store write they make anyway:

    now = now_ms()
    change = await get_store().amodify(pet_id, timeline.recording(decide, timeline.told_x, now))
    await timeline.publish(context, change.after, since=change.before)

Why this way, and why nothing is lost (docs/decisions.md#37):
1. The item is written with the change it tells of, in the same atomic write of pets.json:
   `recording` wraps a decision so that its patch also appends the items its teller (`told_*`)
   makes of it to the pet's `timelineOutbox`, numbered by the pet's own sequence (`timelineSeq`).
2. `publish` then sets them on the stream and takes them out of the outbox (a second write, which
   keeps `updatedAt`). A failed stream write is logged, not raised: the items wait in the outbox.
3. A process that dies between 1 and 2 leaves them in the outbox: the reconciler publishes them
   (`publish_leftovers`), and GET /py/pets/:id/timeline shows them meanwhile (`items_of`).

A redelivered event adds nothing: the decisions recognise a repeat (SKIP, or APPLY with nothing to
write) and the tellers make no item of it. Ids come from the pet's sequence, taken under the store's
lock, so they sort in the order the changes were made, whatever the clocks do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.decisions import Decision, Outcome, StatusChange
from services.models import ReviewRecord, Status, TimelineEntry, TimelineKind
from services.pet_file import StoreError
from services.pet_store import Pet, get_store, iso_time

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


def item_id(seq: int) -> str:
    return f"{seq:0{ID_DIGITS}d}"


# ----------------------------------------------------------------------------- recording


def _appended(pet: Mapping[str, Any], entries: Sequence[Entry], now: int) -> dict[str, Any]:
    """The patch that numbers `entries` after the pet's last item and adds them to its outbox."""
    seq = int(pet.get(SEQ) or 0)
    items = [{"id": item_id(seq + n), "at": now, "kind": e.kind.value, "message": e.message, "data": e.data}
             for n, e in enumerate(entries, start=1)]
    return {SEQ: seq + len(items), OUTBOX: [*outbox_of(pet), *items]}


def recording(decide: Callable[[Pet], Decision], tell: Teller, now: int) -> Callable[[Pet], Decision]:
    """`decide`, with the items `tell` makes of its decision written in the same patch. An item
    alone (a rejection) leaves `updatedAt` as it was: the pet itself did not change."""

    def decide_and_record(pet: Pet) -> Decision:
        decision = decide(pet)
        entries = tell(pet, decision)
        if not entries:
            return decision
        unchanged = {} if decision.patch else {"updatedAt": pet.get("updatedAt")}
        return dataclasses.replace(decision, patch={**(decision.patch or unchanged), **_appended(pet, entries, now)})

    return decide_and_record


def admitted(fields: Mapping[str, Any], now: int) -> dict[str, Any]:
    """A new pet's fields (`decisions.intake`) with its first item, "created", in its outbox."""
    return {**fields, **_appended(fields, [created(fields)], now)}


def outbox_of(pet: Mapping[str, Any]) -> list[Item]:
    box = pet.get(OUTBOX)
    return [i for i in box if isinstance(i, dict) and isinstance(i.get("id"), str)] if isinstance(box, list) else []


# ----------------------------------------------------------------------------- the tellers


def created(pet: Mapping[str, Any]) -> Entry:
    return Entry(Kind.CREATED, f"🐾 {pet.get('name')} the {pet.get('species')} was taken in",
                 {"name": pet.get("name"), "species": pet.get("species"), "ageMonths": pet.get("ageMonths"), "status": Status.NEW.value})


def told_feeding_reminder(pet: Pet, decision: Decision) -> list[Entry]:
    """The feeding job wrote its values (a redelivery, which finds them written, tells nothing)."""
    if not decision.applied or not decision.patch:
        return []
    after = {**pet, **decision.patch}
    at = after.get("nextFeedingAt")
    return [Entry(Kind.FEEDING_REMINDER_SET, f"✅ Next feeding reminder set for {iso_time(at)}", {"nextFeedingAt": at, "notes": after.get("notes")})]


def status_changed(change: StatusChange) -> Entry:
    data = {"oldStatus": change.old, "newStatus": change.new, "automatic": change.automatic, "trigger": change.trigger,
            "requestId": change.request_id}
    return Entry(Kind.STATUS_CHANGED, f"✅ {change.description} ({change.old} -> {change.new})", data)


def rejected(current: str, requested: str, reason: str, automatic: bool, request_id: str | None) -> Entry:
    data = {"currentStatus": current, "requestedStatus": requested, "reason": reason, "automatic": automatic, "requestId": request_id}
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
        data = {"reviewId": review.id, "agent": review.agent.value, "choice": review.choice.value, "source": review.source,
                "rationale": review.rationale, "effect": decision.reason or None}
        return [Entry(Kind.REVIEW_DECIDED, f"🧭 {review.agent.value.capitalize()} review decided: {choice} ({source})", data),
                *told_transition(pet, decision)]

    return tell


def review_requested(agent: str, title: str, review_id: str, requested_at: int, status: str) -> Entry:
    return Entry(Kind.REVIEW_REQUESTED, f"📋 {title} requested (pet is {status})",
                 {"reviewId": review_id, "agent": agent, "requestedAt": requested_at, "status": status})


def told_enrichment_started(pet: Pet, decision: Decision) -> list[Entry]:
    """The first start of an enrichment (a retry of the same one writes nothing, and tells nothing)."""
    if not decision.applied or not decision.patch:
        return []
    return [Entry(Kind.ENRICHMENT_STARTED, "🤖 AI profile enrichment started", {"name": pet.get("name"), "species": pet.get("species")})]


def told_enrichment_finished(profile: Mapping[str, Any], error: str | None) -> Teller:
    """The profile stored: the model's (completed) or the fallback (failed, and why)."""

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if not decision.applied:
            return []
        if error is not None:
            return [Entry(Kind.ENRICHMENT_FAILED, f"❌ AI profile enrichment failed ({error}): fallback profile stored",
                          {"error": error, "fallback": True, "profile": dict(profile)})]
        return [Entry(Kind.ENRICHMENT_COMPLETED, f"✅ AI profile written: {profile.get('breedGuess')}",
                      {"fallback": False, "profile": dict(profile)})]

    return tell


CARE_TOLD: dict[str, tuple[Kind, str]] = {
    "treatmentPlan": (Kind.TREATMENT_PLAN_WRITTEN, "💊 Treatment plan written"),
    "adoptionPosting": (Kind.ADOPTION_POSTING_WRITTEN, "📣 Adoption posting written"),
}


def told_care(field_name: str) -> Teller:
    """A treatment plan or adoption posting written (`decisions.care_written`; a repeat tells nothing)."""
    kind, message = CARE_TOLD[field_name]

    def tell(pet: Pet, decision: Decision) -> list[Entry]:
        if not decision.applied or not decision.patch:
            return []
        return [Entry(kind, message, {field_name: decision.patch.get(field_name), "status": pet.get("status")})]

    return tell


def told_deleted(pet: Pet, decision: Decision) -> list[Entry]:
    if not decision.applied or not decision.patch:
        return []
    patch = decision.patch
    data = {"previousStatus": patch.get("statusBeforeDelete"), "deletedAt": patch.get("deletedAt"), "purgeAt": patch.get("purgeAt")}
    return [Entry(Kind.DELETED, f"🗑️ Pet soft deleted: restorable until {iso_time(patch.get('purgeAt'))}", data)]


def told_restored(pet: Pet, decision: Decision) -> list[Entry]:
    if not decision.applied or not decision.patch:
        return []
    status = decision.patch.get("status")
    return [Entry(Kind.RESTORED, f"♻️ Pet restored, back to {status}", {"status": status})]


# ----------------------------------------------------------------------------- the stream


def _stream(context: Any) -> Any:
    return context.streams[STREAM]  # a dict on both runtimes (Motia's DotDict, steprunner's namespace)


def _entry_data(item: Item) -> dict[str, Any]:
    """What `set` stores: the entry, and `_createdAt` = its time, so both runtimes' `getGroup` keep time order."""
    return {"at": item["at"], "kind": item["kind"], "message": item["message"], "data": item["data"], "_createdAt": item["at"]}


def _plain(item: Mapping[str, Any]) -> Item:
    return {k: item.get(k) for k in ITEM_FIELDS}


async def publish(context: Any, pet: Pet, since: Pet | None = None) -> Pet:
    """Set the items of `pet`'s outbox that `since` did not have on the stream, then take them out
    of the outbox. Never raises (as `responses.emit_follow_ups` does not): what could not be
    published or cleared stays in the outbox for the reconciler. Returns the pet as it now is."""
    known = {i["id"] for i in outbox_of(since)} if since is not None else set()
    items = [i for i in outbox_of(pet) if i["id"] not in known]
    published = await _set_all(context, pet["id"], items)
    return await _clear(context, pet, published)


async def publish_leftovers(context: Any, pet: Pet, before: int) -> int:
    """The reconciler's part: of the pet's outbox items recorded up to `before` (epoch ms: later
    ones are most likely being published by their step right now), set those the stream lacks (a
    process died between the write and the stream), then clear them. Returns how many were missing."""
    stream, pet_id = _stream(context), pet["id"]
    missing: list[Item] = []
    present: list[Item] = []
    for item in (i for i in outbox_of(pet) if isinstance(i.get("at"), int) and i["at"] <= before):
        (present if await stream.get(pet_id, item["id"]) is not None else missing).append(item)
    published = await _set_all(context, pet_id, missing)
    await _clear(context, pet, [i["id"] for i in present] + published)
    return len(published)


async def _set_all(context: Any, pet_id: str, items: Iterable[Item]) -> list[str]:
    stream, done = _stream(context), []
    for item in items:
        try:
            await stream.set(pet_id, item["id"], _entry_data(item))
        except Exception as exc:  # noqa: BLE001 - the item stays in the outbox; the reconciler publishes it
            context.logger.error("❌ Timeline item not published; the reconciler will publish it",
                                 {"petId": pet_id, "itemId": item["id"], "error": f"{type(exc).__name__}: {exc}"})
            break  # the rest after it: keeps the stream in id order
        done.append(item["id"])
    return done


async def _clear(context: Any, pet: Pet, ids: Sequence[str]) -> Pet:
    if not ids:
        return pet
    gone = set(ids)

    def cleared(current: Pet) -> Decision:
        box = outbox_of(current)
        left = [i for i in box if i["id"] not in gone]
        if len(left) == len(box):
            return Decision(Outcome.SKIP, kind="unchanged")
        return Decision(Outcome.APPLY, patch={OUTBOX: left, "updatedAt": current.get("updatedAt")})  # not a change of the pet's

    try:
        change = await get_store().amodify(pet["id"], cleared)
    except StoreError as exc:  # published all the same; the reconciler clears it
        context.logger.error("❌ Timeline outbox not cleared", {"petId": pet["id"], "error": str(exc)})
        return pet
    return pet if change is None else change.after


async def record_once(context: Any, pet_id: str, entry: Entry, key: str, now: int) -> Pet | None:
    """Record `entry` unless the pet's timeline already has an item of its kind with the same
    `data[key]` (on the stream, or in the outbox): for an event step whose input causes no change
    of its own to the pet (a review request), so a redelivery is told once. Returns the pet (None:
    purged)."""
    value = entry.data[key]

    def same(item: Mapping[str, Any]) -> bool:
        data = item.get("data")
        return item.get("kind") == entry.kind.value and isinstance(data, dict) and data.get(key) == value

    on_stream = any(same(i) for i in await _stream(context).getGroup(pet_id) or [] if isinstance(i, dict))

    def tell(pet: Pet, _decision: Decision) -> list[Entry]:
        return [] if on_stream or any(same(i) for i in outbox_of(pet)) else [entry]

    change = await get_store().amodify(pet_id, recording(lambda _pet: Decision(Outcome.APPLY), tell, now))
    return None if change is None else await publish(context, change.after, since=change.before)


async def items_of(context: Any, pet: Pet) -> list[Item]:
    """The pet's whole timeline, oldest first: the stream's items and any still in the outbox."""
    items = {i["id"]: _plain(i) for i in await _stream(context).getGroup(pet["id"]) or [] if isinstance(i, dict)}
    items.update({i["id"]: _plain(i) for i in outbox_of(pet)})
    return [items[k] for k in sorted(items)]


async def purge(context: Any, pet_id: str) -> int:
    """Delete every item of the pet's timeline (the reaper, before it purges the pet). Returns how many."""
    stream = _stream(context)
    items = await stream.getGroup(pet_id) or []
    for item in items:
        await stream.delete(pet_id, item["id"])
    return len(items)
