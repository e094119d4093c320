"""AI profile enrichment: when a pet is created, ask the model for its adoption profile.

Stores only `profile` on the pet (never `status`: the lifecycle orchestrator owns that), so
it can run alongside the feeding reminder and the orchestrator without holding either up.
Without a key, or when the model call fails, the pet gets the fallback profile and the
failure is logged and emitted; the event itself still succeeds, so it is not retried.
A pet that was soft-deleted or purged before the profile is written is left alone.
Re-running for the same pet (at-least-once delivery) simply writes a fresh profile.
"""

from typing import Any

from services.ai_profile import generate_profile
from services.pet_store import get_store

config = {
    "type": "event",
    "name": "AiProfileEnrichment",
    "description": "Writes an AI-generated adoption profile (bio, breed guess, temperament tags, adopter hints) on each new pet; fallback profile without a key or on failure",
    "subscribes": ["py.pet.created"],
    "emits": [
        {"topic": "py.ai.profile.enrichment.started", "label": "Enrichment started"},
        {"topic": "py.ai.profile.enrichment.completed", "label": "Profile stored", "conditional": True},
        {"topic": "py.ai.profile.enrichment.failed", "label": "Fallback profile stored", "conditional": True},
    ],
    "input": {
        "type": "object",
        "properties": {"petId": {"type": "string"}},
        "required": ["petId"],
    },
    "flows": ["pets"],
    # Longer than the model call's whole budget (OPENAI_TIMEOUT_SECONDS, at most 45 s).
    "infrastructure": {"handler": {"timeout": 60}},
}


async def handler(input_data: dict[str, Any], context: Any) -> None:
    pet_id = str(input_data["petId"])
    store = get_store()
    pet = store.get(pet_id)
    if _gone(pet):
        context.logger.info("⏭️ AI Profile Enrichment skipped", {"petId": pet_id, "reason": _why_gone(pet)})
        return

    name, species = pet["name"], pet["species"]
    context.logger.info("🤖 AI Profile Enrichment started", {"petId": pet_id, "name": name, "species": species})
    await context.emit(
        {"topic": "py.ai.profile.enrichment.started", "data": {"petId": pet_id, "name": name, "species": species}}
    )

    result = await generate_profile(name, species)
    profile = result.profile.model_dump()

    # The call may take seconds and the pet may have been deleted meanwhile: decide under
    # the store's lock, so a delete landing now can't be overwritten or raced.
    change = store.modify(pet_id, lambda current: None if _gone(current) else {"profile": profile})
    stored = None if change is None else change.after
    if _gone(stored):
        reason = _why_gone(stored)
        context.logger.info("⏭️ AI Profile Enrichment skipped", {"petId": pet_id, "reason": reason})
        return

    if result.is_fallback:
        context.logger.warn("❌ AI Profile Enrichment failed", {"petId": pet_id, "error": result.error})
        await context.emit(
            {
                "topic": "py.ai.profile.enrichment.failed",
                "data": {"petId": pet_id, "error": result.error, "fallback": True, "profile": profile},
            }
        )
    else:
        context.logger.info("✅ AI Profile Enrichment completed", {"petId": pet_id, "profile": profile})
        await context.emit(
            {
                "topic": "py.ai.profile.enrichment.completed",
                "data": {"petId": pet_id, "profile": profile, "fallback": False},
            }
        )


def _gone(pet: dict[str, Any] | None) -> bool:
    """A purged pet is not in the store; a soft-deleted one keeps its record but is frozen."""
    return pet is None or pet.get("status") == "deleted"


def _why_gone(pet: dict[str, Any] | None) -> str:
    return "pet not found (purged)" if pet is None else "pet is soft-deleted"
