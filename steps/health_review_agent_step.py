"""HealthReviewAgent: a routing agent that chooses whether a pet needs treatment, and emits that choice.

Its only choices are the two topics it declares (services/review_agent.py holds them with what
they mean): `py.health.treatment_required` or `py.health.no_treatment_needed`. The model chooses
through a JSON-schema answer limited to those two; without a key, or on any failure or an answer
outside them, the rules do (any symptom: treatment required). It never writes the pet: the
lifecycle orchestrator records the decision and applies it (docs/decisions.md#15-19).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.models import Agent, ReviewRequested, schema
from services.review_steps import run_agent

if TYPE_CHECKING:
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "HealthReviewAgent",
    "description": (
        "Routing agent: the model (or the fallback rules) chooses treatment_required or no_treatment_needed for a pet"
    ),
    "subscribes": ["py.health.review.requested"],
    "emits": [
        {"topic": "py.health.treatment_required", "label": "Treatment required", "conditional": True},
        {"topic": "py.health.no_treatment_needed", "label": "No treatment needed", "conditional": True},
    ],
    "input": schema(ReviewRequested),
    "flows": ["pets"],
    # Longer than the model call's whole budget (OPENAI_TIMEOUT_SECONDS, at most 45 s).
    "infrastructure": {"handler": {"timeout": 60}},
}


async def handler(input_data: Any, context: Context) -> None:
    await run_agent(Agent.HEALTH, input_data, context)
