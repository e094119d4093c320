"""AdoptionReviewAgent: a routing agent that chooses whether a pet's record is ready for adoption,
and emits that choice.

Its only choices are the two topics it declares (services/review_agent.py holds them with what
they mean): `py.adoption.ready` or `py.adoption.needs_data`. The model chooses through a
JSON-schema answer limited to those two; without a key, or on any failure or an answer outside
them, the rules do (ready when a profile, the age and the weight are present). It never writes the
pet: the lifecycle orchestrator records the decision and applies it (docs/decisions.md#15-19).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.models import Agent, ReviewRequested, schema
from services.review_steps import run_agent

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "AdoptionReviewAgent",
    "description": "Routing agent: the model (or the fallback rules) chooses ready or needs_data for a pet",
    "subscribes": ["py.adoption.review.requested"],
    "emits": [
        {"topic": "py.adoption.ready", "label": "Ready for adoption", "conditional": True},
        {"topic": "py.adoption.needs_data", "label": "Needs data", "conditional": True},
    ],
    "input": schema(ReviewRequested),
    "flows": ["pets"],
    # Longer than the model call's whole budget (OPENAI_TIMEOUT_SECONDS, at most 45 s).
    "infrastructure": {"handler": {"timeout": 60}},
}


async def handler(input_data: Any, context: Context) -> None:
    await run_agent(Agent.ADOPTION, input_data, context)
