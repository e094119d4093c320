"""POST /tickets: open a ticket, answer 201 with it; triage runs in the background."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

if TYPE_CHECKING:  # steprunner's types for mypy; the file runs unchanged on Motia, where steprunner may be absent
    from steprunner.step_types import ApiRequest, ApiResponse, Context


class NewTicket(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3)


config = {
    "type": "api",
    "name": "OpenTicket",
    "description": "Open a support ticket",
    "path": "/tickets",
    "method": "POST",
    "bodySchema": NewTicket.model_json_schema(),
    "emits": ["ticket.opened"],
    "flows": ["helpdesk"],
}


async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    try:
        new = NewTicket.model_validate(req["body"] or {})
    except ValidationError as exc:
        return {"status": 400, "body": {"error": "invalid ticket", "details": exc.errors(include_url=False)}}
    ticket = {"id": uuid.uuid4().hex[:8], **new.model_dump(), "status": "open", "priority": None}
    await context.state.set("tickets", ticket["id"], ticket)
    await context.emit({"topic": "ticket.opened", "data": {"ticketId": ticket["id"]}})
    context.logger.info("Ticket opened", {"ticketId": ticket["id"]})
    return {"status": 201, "body": ticket}
