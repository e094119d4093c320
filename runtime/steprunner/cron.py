"""Cron steps: croniter schedules in the local time zone, each tick fired by exactly one process
of all those sharing the journal (one machine's, or every node's on PostgreSQL).

A schedule can be replaced without editing code: `STEPRUNNER_CRON_<STEP_NAME>` (see
`settings.cron_override_variable`); it may have a sixth field for seconds, which tests use.
Ticks missed while no process was running are not caught up, as with cron.
"""

from __future__ import annotations

import asyncio
import os
import time
import traceback
import uuid
from datetime import datetime

from croniter import croniter

from steprunner.events import EventBus
from steprunner.loader import Step, StepLoadError
from steprunner.log import runtime_log
from steprunner.observe import CronEnded, CronStarted
from steprunner.settings import cron_override_variable
from steprunner.step_config import CronConfig


def schedule_of(step: Step) -> str:
    """The step's expression, or its override from the environment (checked here so start-up fails early)."""
    assert isinstance(step.config, CronConfig)
    variable = cron_override_variable(step.name)
    expression = os.environ.get(variable) or step.config.cron
    if not croniter.is_valid(expression) or len(expression.split()) not in (5, 6):
        raise StepLoadError(
            f"{variable}={expression!r} is not a valid cron expression (5 fields, or 6 with seconds last)"
        )
    return expression


async def run_cron_step(step: Step, bus: EventBus, trace_id: str | None = None) -> bool:
    """Run a cron handler once now; True if it finished without raising."""
    context = bus.context_for(step, trace_id or uuid.uuid4().hex)
    started = time.time()
    bus.notify(CronStarted(context.trace_id, step.name))
    ok = True
    try:
        await bus.run_in_transaction(lambda: step.handler(context))  # type: ignore[misc]
    except Exception as exc:  # noqa: BLE001 - the next tick runs regardless
        ok = False
        context.logger.error(f"cron handler failed: {exc!r}", {"traceback": traceback.format_exc()})
    bus.notify(CronEnded(context.trace_id, step.name, ok, started, time.time() - started))
    return ok


async def schedule_loop(step: Step, bus: EventBus) -> None:
    expression = schedule_of(step)
    ticks = croniter(expression, datetime.now().astimezone())
    while True:
        due = ticks.get_next(datetime)
        await asyncio.sleep(max(0.0, due.timestamp() - time.time()))  # a timer until the tick
        tick = int(due.timestamp())
        try:
            mine = await bus.journal.claim_cron_tick(step.name, tick)  # one process of all those sharing the journal
        except Exception as exc:  # noqa: BLE001 - a journal down now must not end the schedule
            runtime_log.error(
                "could not claim a cron tick; skipping it", {"step": step.name, "tick": tick, "error": repr(exc)}
            )
            continue
        if mine:
            await run_cron_step(step, bus)
