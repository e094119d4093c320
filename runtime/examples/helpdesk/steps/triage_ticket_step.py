"""On `ticket.opened`: set the ticket's priority (services/triage.py) and announce it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.triage import priority

if TYPE_CHECKING:  # steprunner's types for mypy; the file runs unchanged on Motia, where steprunner may be absent
    from steprunner.step_types import Context

config = {
    "type": "event",
    "name": "TriageTicket",
    "description": "Set a new ticket's priority",
    "subscribes": ["ticket.opened"],
    "emits": ["ticket.triaged"],
    "input": {"type": "object", "properties": {"ticketId": {"type": "string"}}, "required": ["ticketId"]},
    "flows": ["helpdesk"],
}


async def handler(data: dict[str, Any], context: Context) -> None:
    ticket = (await context.state.get("tickets", data["ticketId"]))["data"]  # Motia wraps it: {"data": ...}
    if ticket is None:
        context.logger.warn("No such ticket", {"ticketId": data["ticketId"]})
        return
    ticket = {**ticket, "status": "triaged", "priority": priority(ticket["title"])}
    await context.state.set("tickets", ticket["id"], ticket)
    await context.emit({"topic": "ticket.triaged", "data": {"ticketId": ticket["id"], "priority": ticket["priority"]}})
    context.logger.info("Ticket triaged", {"ticketId": ticket["id"], "priority": ticket["priority"]})
