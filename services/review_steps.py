"""What the review steps do, written once for both agents: the request (API) and the agent (event).

The four step files (`health_review_request_step.py`, `adoption_review_request_step.py`,
`health_review_agent_step.py`, `adoption_review_agent_step.py`) hold their configs, so each shows
its own edges in the flow, and hand their input here with the agent they are for.

- `request_review`: 404 for an unknown pet, 409 with the reason when the pet can't be reviewed now
  (`decisions.review_request`), else the request is emitted and the answer is 202 with the review's
  id. Nothing is written to the pet, so an emit that fails is a 500 and a retry is safe.
- `run_agent`: loads the pet, tells the request on its timeline (once per review id), lets the
  agent decide (`review_agent.decide`: the model, or the rules), logs (without a key the rules are
  the configured choice, an INFO line; after a failed call a WARN with the reason), and emits the chosen
  decision's topic for the orchestrator, which records and applies it (and tells the decision), or
  holds it for staff when a model chose against the rules in the unsafe direction
  (services/review_rules.py). The model is asked outside the database (`ask_for_json`): the
  request's timeline item commits first, so no row lock is held while the model thinks.
  A pet deleted, purged or moved out of what can be reviewed meanwhile is dropped. A redelivered
  request decides again under the same review id; the orchestrator records a review id once, so
  the second decision changes nothing (and tells nothing).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from services import decisions, timeline
from services.ai_client import is_ai_off, tell_ai_is_off_once
from services.clock import now_ms
from services.decisions import Decision, Outcome
from services.models import Agent, ReviewDecided, ReviewRequested
from services.responses import load_pet
from services.review_agent import AGENTS, decide
from services.store import get_store
from services.validation import one_line

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context


async def request_review(agent: Agent, req: ApiRequest, context: Context) -> ApiResponse:
    """POST /py/pets/:id/{health,adoption}-review (wrapped in `answers_store_errors` by the step)."""
    definition = AGENTS[agent]
    pet_id = req["pathParams"]["id"]
    pet = await load_pet(get_store(), pet_id)
    decision = decisions.review_request(pet, agent)
    if decision.outcome is Outcome.REJECT:
        context.logger.warn(
            f"⚠️ {definition.title} refused", {"petId": pet_id, "status": pet["status"], "reason": decision.reason}
        )
        return {"status": 409, "body": {"message": decision.reason}}

    request = ReviewRequested(petId=pet_id, reviewId=uuid.uuid4().hex, agent=agent, requestedAt=now_ms())
    context.logger.info(
        f"{definition.emoji} {definition.title} requested",
        {"petId": pet_id, "reviewId": request.reviewId, "status": pet["status"]},
    )
    await context.emit({"topic": definition.request_topic, "data": request.model_dump(mode="json")})
    body = {
        "message": f"{definition.title} requested",
        "petId": pet_id,
        "reviewId": request.reviewId,
        "agent": agent.value,
        "currentStatus": pet["status"],
        "allowedChoices": [c.value for c in definition.choices],
    }
    return {"status": 202, "body": body}


async def run_agent(agent: Agent, input_data: Any, context: Context) -> None:
    """The agent step's handler: decide on the requested pet and emit the decision."""
    definition = AGENTS[agent]
    try:
        request = ReviewRequested.model_validate(input_data)
    except ValidationError as exc:
        context.logger.error(
            f"❌ {definition.title} request is malformed", {"input": input_data, "error": one_line(exc)}
        )
        return  # retrying can't fix it
    fields = {"petId": request.petId, "reviewId": request.reviewId}
    if request.agent is not agent:
        context.logger.error(
            f"❌ {definition.title} request is for another agent", {**fields, "agent": request.agent.value}
        )
        return

    pet = await get_store().aget(request.petId)
    why_not = "pet not found (purged)" if pet is None else decisions.review_request(pet, agent).reason
    if pet is None or why_not:
        context.logger.info(f"⏭️ {definition.title} skipped", {**fields, "reason": why_not})
        return

    told = timeline.told_review_requested(agent.value, definition.title, request.reviewId, request.requestedAt)
    change = await get_store().amodify(request.petId, timeline.recording(lambda _pet: Decision(Outcome.APPLY), told))
    if change is not None:
        await timeline.publish(context, change.after, since=change.before)
    context.logger.info(
        f"🤖 {definition.title} agent deciding",
        {**fields, "status": pet["status"], "choices": [c.value for c in definition.choices]},
    )
    review = await decide(agent, pet, review_id=request.reviewId, trace_id=context.trace_id, now=now_ms())
    decided = {**fields, "choice": review.choice.value, "source": review.source, "rationale": review.rationale}
    if review.source == "fallback" and is_ai_off(review.fallbackReason):  # no key: the rules by choice
        tell_ai_is_off_once(context.logger)
        context.logger.info(f"📏 {definition.title} decided by the shelter's rules (AI is off)", decided)
    elif review.source == "fallback":
        context.logger.warn(
            f"⚠️ {definition.title} decided by the fallback rules", {**decided, "reason": review.fallbackReason}
        )
    else:
        context.logger.info(f"✅ {definition.title} decided", {**decided, "model": review.model})
    event = ReviewDecided(petId=request.petId, review=review)
    await context.emit({"topic": definition.topic_of(review.choice), "data": event.model_dump(mode="json")})
