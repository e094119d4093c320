"""What the runtime tells observers (the trace view, tests, a metrics exporter): one frozen record per kind.

The event bus holds the observers (`EventBus.add_observer` / `remove_observer`) and is told
by each layer what happened (`EventBus.notify`): the HTTP layer about requests, the bus itself
about emits and deliveries, cron about its runs. An observer is called synchronously, on the
thread that notifies, so it must be quick and must not raise; one that raises is logged and
the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RequestStarted:
    trace_id: str
    step: str
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class RequestEnded:
    trace_id: str
    step: str
    status: int  # 500 when the handler raised or returned no response


@dataclass(frozen=True, slots=True)
class Emitted:
    trace_id: str
    topic: str
    source: str  # the emitting step's name, or "cli"
    subscribers: tuple[str, ...]  # one delivery is journaled per subscriber


@dataclass(frozen=True, slots=True)
class DeliveryStarted:
    trace_id: str
    delivery_id: int
    step: str
    topic: str
    attempt: int


@dataclass(frozen=True, slots=True)
class DeliveryEnded:
    trace_id: str
    delivery_id: int
    step: str
    outcome: str  # ok | retried | dead
    started: float  # time.time() when the handler started
    duration: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CronStarted:
    trace_id: str
    step: str


@dataclass(frozen=True, slots=True)
class CronEnded:
    trace_id: str
    step: str
    ok: bool
    started: float
    duration: float


Observation = RequestStarted | RequestEnded | Emitted | DeliveryStarted | DeliveryEnded | CronStarted | CronEnded
Observer = Callable[[Observation], None]


class Observable(Protocol):
    """Where observers subscribe (the event bus); what `WebUI` needs of it."""

    def add_observer(self, observer: Observer) -> None: ...

    def remove_observer(self, observer: Observer) -> None: ...
