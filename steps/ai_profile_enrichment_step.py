"""AI profile enrichment: when a pet is created (or a profile is missing), ask the model for its adoption profile.

Stores only `profile` on the pet (never `status`: the lifecycle orchestrator owns that), so
it can run alongside the feeding reminder and the orchestrator without holding either up.
Without a key (AI is off, the default) the pet gets the shelter's template profile, said as the
choice it is: an INFO line (and, once per process, how to turn AI on) and a `profile_from_template`
timeline item. When a call with a key fails, the pet gets the same fallback profile and the failure
is logged (the spec's ❌ line) and told as `enrichment_failed`. Either way `...enrichment.failed` is
emitted with the reason, and the event itself succeeds, so it is not retried.
A pet that was soft-deleted or purged before the profile is written is left alone (a restore
asks again). A pet that has its profile is not asked for another (a redelivered event changes
nothing). The pet's timeline gets "enrichment started" (once per enrichment: a retry after a crash
finds the start stamped), then "completed", "profile from template" or "failed" with the profile write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline
from services.ai_client import tell_ai_is_off_once
from services.ai_profile import generate_profile
from services.clock import now_ms
from services.decisions import Decision
from services.models import PetCreated, ProfileRequested, schema
from services.store import get_store
from services.store_contract import Change
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import Context, EmitData

config = {
    "type": "event",
    "name": "AiProfileEnrichment",
    "description": (
        "Writes an AI-generated adoption profile (bio, breed guess, temperament tags, adopter hints) on each new pet; "
        "fallback profile without a key or on failure"
    ),
    "subscribes": ["py.pet.created", "py.ai.profile.enrichment.requested"],
    "emits": [
        {"topic": "py.ai.profile.enrichment.started", "label": "Enrichment started"},
        {"topic": "py.ai.profile.enrichment.completed", "label": "Profile stored", "conditional": True},
        {"topic": "py.ai.profile.enrichment.failed", "label": "Fallback profile stored", "conditional": True},
    ],
    "input": schema(PetCreated, ProfileRequested),
    "flows": ["pets"],
    # Longer than the model call's whole budget (OPENAI_TIMEOUT_SECONDS, at most 45 s).
    "infrastructure": {"handler": {"timeout": 60}},
}


async def handler(input_data: Any, context: Context) -> None:
    try:
        pet_id = ProfileRequested.model_validate(input_data).petId
    except ValidationError as exc:
        context.logger.error("❌ Profile request is malformed", {"input": input_data, "error": one_line(exc)})
        return  # retrying can't fix it
    now = now_ms()
    start = await get_store().amodify(
        pet_id, timeline.recording(lambda pet: decisions.enrichment_start(pet, now), timeline.told_enrichment_started)
    )
    if start is None or not start.decision.applied:
        context.logger.info("⏭️ AI Profile Enrichment skipped", {"petId": pet_id, "reason": _why_skipped(start)})
        return
    pet = start.after
    await timeline.publish(context, pet, since=start.before)

    name, species = pet["name"], pet["species"]
    context.logger.info("🤖 AI Profile Enrichment started", {"petId": pet_id, "name": name, "species": species})
    await context.emit(
        {"topic": "py.ai.profile.enrichment.started", "data": {"petId": pet_id, "name": name, "species": species}}
    )

    result = await generate_profile(name, species)
    profile = result.profile.model_dump()
    error = result.error if result.is_fallback else None

    # The call may take seconds and the pet may have been deleted meanwhile: decided under the
    # store's lock, so a delete landing now can't be overwritten or raced.
    written = timeline.recording(
        lambda current: decisions.profile_written(current, profile),
        timeline.told_enrichment_finished(profile, error, ai_off=result.ai_off),
    )
    change = await get_store().amodify(pet_id, written)
    if change is None or not change.decision.applied:
        context.logger.info("⏭️ AI Profile Enrichment skipped", {"petId": pet_id, "reason": _why_skipped(change)})
        return

    if result.is_fallback:
        if result.ai_off:  # no key: a configuration, not a failure
            tell_ai_is_off_once(context.logger)
            context.logger.info("🤖 AI is off: profile written from the shelter's template", {"petId": pet_id})
        else:
            context.logger.warn("❌ AI Profile Enrichment failed", {"petId": pet_id, "error": result.error})
        outcome: EmitData = {
            "topic": "py.ai.profile.enrichment.failed",
            "data": {"petId": pet_id, "error": result.error, "fallback": True, "profile": profile},
        }
    else:
        context.logger.info("✅ AI Profile Enrichment completed", {"petId": pet_id, "profile": profile})
        outcome = {
            "topic": "py.ai.profile.enrichment.completed",
            "data": {"petId": pet_id, "profile": profile, "fallback": False},
        }
    await timeline.publish(context, change.after, since=change.before)
    await context.emit(outcome)


def _why_skipped(change: Change[Decision] | None) -> str:
    return "pet not found (purged)" if change is None else change.decision.reason
