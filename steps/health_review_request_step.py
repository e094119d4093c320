"""POST /py/pets/:id/health-review: staff ask the health agent whether a pet needs treatment.

202 at once with the review's id: the agent (steps/health_review_agent_step.py) decides in the
background and the orchestrator applies its decision (docs/decisions.md#15-17). 404 for an unknown
pet; 409 with the reason when the pet is not in_quarantine, healthy or available (or is deleted).
The decision appears under the pet's `reviews` (GET /py/pets/:id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.idempotency import idempotent
from services.models import Agent, ErrorBody, ReviewRequestAnswer, schema
from services.responses import answers_store_errors
from services.review_steps import request_review
from services.staff_auth import require_staff

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "RequestHealthReview",
    "description": (
        "Ask the health review agent whether a pet needs treatment (202; the decision lands in the pet's reviews)"
    ),
    "path": "/py/pets/:id/health-review",
    "method": "POST",
    "emits": [{"topic": "py.health.review.requested", "label": "Health review requested"}],
    "virtualSubscribes": ["py.staff.pet.review"],
    "responseSchema": {
        "202": schema(ReviewRequestAnswer),
        "404": schema(ErrorBody),
        "409": schema(ErrorBody),
        "500": schema(ErrorBody),
    },
    "middleware": [require_staff, idempotent("RequestHealthReview")],
    "flows": ["pets"],
}


@answers_store_errors
async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    return await request_review(Agent.HEALTH, req, context)
