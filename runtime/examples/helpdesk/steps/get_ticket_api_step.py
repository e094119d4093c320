"""GET /tickets/:id: a ticket as it is now, or 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # steprunner's types for mypy; the file runs unchanged on Motia, where steprunner may be absent
    from steprunner.step_types import ApiRequest, ApiResponse, Context

config = {
    "type": "api",
    "name": "GetTicket",
    "description": "Read a ticket",
    "path": "/tickets/:id",
    "method": "GET",
    "emits": [],
    "flows": ["helpdesk"],
}


async def handler(req: ApiRequest, context: Context) -> ApiResponse:
    ticket = (await context.state.get("tickets", req["pathParams"]["id"]))["data"]
    if ticket is None:
        return {"status": 404, "body": {"error": "no such ticket"}}
    return {"status": 200, "body": ticket}
