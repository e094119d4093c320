"""Every hour: log how many tickets wait for an answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # steprunner's types for mypy; the file runs unchanged on Motia, where steprunner may be absent
    from steprunner.step_types import Context

config = {
    "type": "cron",
    "name": "CountOpenTickets",
    "description": "Log how many tickets are not closed",
    "cron": "0 * * * *",
    "emits": [],
    "flows": ["helpdesk"],
}


async def handler(context: Context) -> None:
    tickets = await context.state.get_group("tickets")
    waiting = [t for t in tickets if t["status"] != "closed"]
    context.logger.info("Tickets waiting", {"count": len(waiting)})
