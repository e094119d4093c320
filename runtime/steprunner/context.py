"""`context`, the second argument of every handler: trace id, flows, emit, logger, state, streams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from steprunner.journal.contract import EventJournal
from steprunner.log import Logger
from steprunner.streams.api import StreamsNamespace

if TYPE_CHECKING:
    from steprunner import step_types
    from steprunner.loader import Step

# `EventBus.publish(topic, data, trace_id, source)`: journal an event for its subscribers
Publish = Callable[[str, Any, str, str], Awaitable[None]]


class UndeclaredEmitError(Exception):
    """A step emitted a topic its config does not list in `emits`."""


def motia_wrapped(result: Any) -> Any:
    """What Motia 0.17's Python `state.get` / `get_group` return for `result` (its `RpcStateManager`).

    None becomes `{'data': None}` and a dict without a `data` key becomes `{'data': result}`;
    anything else -- a list, a number, a dict that has a `data` key -- comes back as it is.
    Steps written for Motia read `(await state.get(g, k))['data']`, so the quirk is copied exactly.
    """
    if result is None:
        return {"data": None}
    if isinstance(result, dict) and "data" not in result:
        return {"data": result}
    return result


class State:
    """Motia's `context.state`: JSON values by (group, key), kept in the journal (every node's, on PostgreSQL).

    Return shapes are Motia's Python ones: `get` and `get_group` wrap (`motia_wrapped`); `set`
    returns the value, `delete` the value deleted (or None), `clear` None.
    """

    def __init__(self, journal: EventJournal) -> None:
        self._journal = journal

    async def get(self, group_id: str, key: str) -> Any:
        return motia_wrapped(await self._journal.state_get(group_id, key))

    async def set(self, group_id: str, key: str, value: Any) -> Any:
        return await self._journal.state_set(group_id, key, value)

    async def delete(self, group_id: str, key: str) -> Any:
        return await self._journal.state_delete(group_id, key)

    async def get_group(self, group_id: str) -> Any:
        return motia_wrapped(await self._journal.state_get_group(group_id))

    getGroup = get_group  # noqa: N815 - Motia's Python API has both spellings

    async def clear(self, group_id: str) -> None:
        await self._journal.state_clear(group_id)


class Context:
    """Built by `EventBus.context_for`; takes only what a handler reaches through it: a way to
    publish and the journal that keeps state (not the bus, which would import this module back)."""

    def __init__(
        self,
        step: Step,
        trace_id: str,
        publish: Publish,
        journal: EventJournal,
        streams: StreamsNamespace | None = None,
        strict: bool = False,
    ) -> None:
        self.trace_id = trace_id
        self.flows = step.flows
        self.logger = Logger(step.name, trace_id)
        self.state = State(journal)
        self.streams = (
            streams if streams is not None else StreamsNamespace()
        )  # `context.streams.<name>` (steprunner.streams.api)
        self._step = step
        self._publish = publish
        self._strict = strict

    async def emit(self, event: step_types.EmitData) -> None:
        """Journal the event for every subscriber before returning.

        A topic the step did not declare in `emits` is dropped with an ERROR line on this trace, as
        Motia 0.17 drops it (`printInvalidEmit`); strict mode raises `UndeclaredEmitError` instead.
        """
        if not isinstance(event, dict) or not isinstance(event.get("topic"), str):
            raise TypeError(f"{self._step.name}: emit takes {{'topic': str, 'data': ...}}, got {event!r}")
        topic = event["topic"]
        if topic not in self._step.emits:
            message = (
                f"step {self._step.name!r} emitted topic {topic!r}, "
                f"which is not in its config `emits` {sorted(self._step.emits)}"
            )
            if self._strict:
                raise UndeclaredEmitError(message)
            self.logger.error(f"{message}: event dropped", {"topic": topic})
            return
        await self._publish(topic, event.get("data"), self.trace_id, self._step.name)


if TYPE_CHECKING:

    def _is_what_steps_see(context: Context) -> step_types.Context:
        """Checked by mypy (never run): the runtime's context keeps the contract step files are typed against."""
        return context
