"""Event delivery: journal first, then run the subscribers, at least once.

`publish` journals a delivery per subscriber and starts the handlers at once; a sweep picks up
what this process did not start (other processes' events, retries, abandoned claims). The hot
path, liveness, bookkeeping and the handler transaction are told in runtime/docs/events.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from steprunner.context import Context
from steprunner.db.busy import DatabaseBusy
from steprunner.journal import transaction as handler_transaction
from steprunner.journal.contract import ClaimLost, Delivery, EventJournal, JournalError, NewDelivery, Transaction
from steprunner.loader import Step
from steprunner.log import runtime_log
from steprunner.observe import DeliveryEnded, DeliveryStarted, Emitted, Observation, Observer
from steprunner.schemas import InvalidSchema, Validator, compile_schema, problems
from steprunner.settings import Settings
from steprunner.step_config import EventConfig
from steprunner.streams.api import StreamsNamespace

T = TypeVar("T")

MAX_BACKOFF_SECONDS = 300.0
# Waits between tries of a delivery's ack / retry / dead-letter write that failed: ~10 s in all.
BOOKKEEPING_RETRY_DELAYS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0)


class _Held:
    """Deliveries emitted inside `hold_deliveries`, to start when it ends."""

    __slots__ = ("deliveries", "open")

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.open = True


# Per task (asyncio copies the context into each task): only the API request that holds is affected.
_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("steprunner_held_deliveries", default=None)


_validators: dict[
    str, Validator | InvalidSchema
] = {}  # step file -> its `input` validator (or the schema error), built once


def _input_validator(step: Step) -> Validator:
    """A JSON Schema validator for an event step's `input`, built on first use and kept.

    Keyed by the step (not by the schema's text): encoding a schema per delivery to look its
    validator up cost a tenth of the server's time under load (bench/writes.py, py-spy).
    """
    found = _validators.get(step.file)
    if found is None:
        try:
            found = compile_schema(step.config.input)  # type: ignore[union-attr]
        except InvalidSchema as exc:
            found = exc
        _validators[step.file] = found
    if isinstance(found, InvalidSchema):
        raise found
    return found


def check_event_input(step: Step, topic: str, data: Any, context: Context) -> None:
    """Warn when an event does not match the subscriber's `input` schema, and deliver it anyway.

    Motia 0.17 does the same (`validateEventInput`): a non-object payload or a schema mismatch is a
    WARN line with the missing fields and type mismatches; the handler still runs. A schema that is
    itself invalid is an ERROR line.
    """
    if data is None or not isinstance(data, dict):
        context.logger.warn(f"⚠️ Event {step.name!r} received non-object data", {"topic": topic, "data": data})
        return
    try:
        validator = _input_validator(step)
    except InvalidSchema as exc:
        context.logger.error(f"❌ Invalid JSON schema for step {step.name!r}", {"topic": topic, "error": str(exc)})
        return
    found = problems(validator, data)
    if found:
        context.logger.warn(
            f"⚠️ event {topic!r} does not match the `input` schema of {step.name!r}; delivered anyway",
            {"topic": topic, "problems": found},
        )


class EventBus:
    def __init__(self, steps: list[Step], settings: Settings, journal: EventJournal, capacity: int = 256) -> None:
        self.settings = settings
        self.journal = journal
        self.capacity = capacity
        self.by_name = {s.name: s for s in steps}
        self.streams = StreamsNamespace()  # the runtime puts its `StreamHub.streams` here
        self.subscribers: dict[str, list[Step]] = {}
        for step in steps:
            if isinstance(step.config, EventConfig):
                for topic in step.config.subscribes:
                    self.subscribers.setdefault(topic, []).append(step)
        self._observers: list[Observer] = []
        self.running = False
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- emitting -------------------------------------------------------------------------

    async def publish(self, topic: str, data: Any, trace_id: str, source: str) -> None:
        if topic in self.settings.faults.topics:
            self.settings.faults.inject(topic)  # test-only (STEPRUNNER_FAULT): fail or die before journaling
        subscribers = self.subscribers.get(topic, [])
        if self._observers:
            self.notify(Emitted(trace_id, topic, source, tuple(s.name for s in subscribers)))
        if not subscribers:
            return
        payload = json.loads(json.dumps(data))  # what a subscriber gets is what the journal holds
        rows = []
        for step in subscribers:
            queue_cfg = step.config.infrastructure.queue  # type: ignore[union-attr]
            rows.append(
                NewDelivery(topic, step.name, payload, trace_id, 1 + queue_cfg.maxRetries, queue_cfg.delaySeconds)
            )
        tx = handler_transaction.current()
        if tx is not None:
            tx.emitted.extend(rows)  # journaled as the handler's transaction commits (`run_in_transaction`)
            return
        ids = await self.journal.insert(rows, self._lease_for(subscribers) if self.running else None)
        self._start_deliveries(ids, rows)

    def _start_deliveries(self, ids: list[int], rows: list[NewDelivery]) -> None:
        """Start (or hold, or wake the sweep for) the deliveries just journaled, claimed by this process."""
        if not self.running:
            return
        for delivery_id, row in zip(ids, rows):
            if row.delay <= 0:
                delivery = Delivery(delivery_id, row.topic, row.step, row.data, row.trace_id, 1, row.max_attempts)
                held = _held.get()
                if held is not None and held.open:
                    held.deliveries.append(delivery)
                else:
                    self._start(delivery)
            else:
                asyncio.get_running_loop().call_later(row.delay, self._wake.set)

    @contextlib.contextmanager
    def hold_deliveries(self) -> Iterator[None]:
        """Journal what is emitted inside at once, but start its handlers only on the way out.

        The API endpoint wraps its handler in this: the handlers start when the endpoint builds
        its response, and first run once the response has been written. Should the bus have
        stopped meanwhile, the claims were already handed back (pending) by `stop`.
        """
        held = _Held()
        token = _held.set(held)
        try:
            yield
        finally:
            _held.reset(token)
            held.open = False  # a task the handler left behind starts what it emits at once
            if self.running:
                for delivery in held.deliveries:
                    self._start(delivery)

    # --- running --------------------------------------------------------------------------

    def _lease_for(self, steps: list[Step]) -> float:
        """How long a claim holds before another process may take it over (renewed while running)."""
        leases = [self.settings.lease_seconds]
        for s in steps:
            visibility = s.config.infrastructure.queue.visibilityTimeout  # type: ignore[union-attr]
            leases.append(visibility if visibility else self._timeout(s) + 5)
        return max(leases)

    def _timeout(self, step: Step) -> float:
        return step.config.infrastructure.handler.timeout or self.settings.default_handler_timeout  # type: ignore[union-attr]

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._run(delivery), name=f"delivery-{delivery.id}")
        self._inflight[delivery.id] = task
        task.add_done_callback(lambda _: self._finished(delivery.id))

    def _finished(self, delivery_id: int) -> None:
        was_full = len(self._inflight) >= self.capacity
        self._inflight.pop(delivery_id, None)
        if was_full:
            self._wake.set()

    async def _run(self, d: Delivery) -> None:
        step = self.by_name[d.step]
        context = self.context_for(step, d.trace_id)
        timeout = self._timeout(step)
        started = time.time()
        self.notify(DeliveryStarted(d.trace_id, d.id, d.step, d.topic, d.attempts))
        if d.attempts == 1 and isinstance(step.config, EventConfig) and step.config.input is not None:
            check_event_input(step, d.topic, d.data, context)
        try:
            handler = step.handler
            assert handler is not None  # event steps always have one (the loader checks)
            _, acked = await self.run_in_transaction(
                lambda: asyncio.wait_for(handler(d.data, context), timeout), ack=d.id
            )
        except TimeoutError:
            error = f"handler timed out after {timeout:g}s"
        except ClaimLost as exc:
            context.logger.warn(
                "↪️ taken over by another node meanwhile; what this run wrote is rolled back",
                {"topic": d.topic, "error": str(exc)},
            )
            self.notify(DeliveryEnded(d.trace_id, d.id, d.step, "retried", started, time.time() - started, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a failing handler is retried, never fatal
            error = "".join(traceback.format_exception_only(exc)).strip()
            context.logger.error(
                f"handler raised: {error}",
                {"topic": d.topic, "attempt": d.attempts, "traceback": traceback.format_exc()},
            )
        else:
            if not acked:
                await self._record_outcome(d, "ack", lambda: self.journal.ack(d.id))
            self.notify(DeliveryEnded(d.trace_id, d.id, d.step, "ok", started, time.time() - started))
            return
        fields = {
            "topic": d.topic,
            "deliveryId": d.id,
            "attempt": d.attempts,
            "maxAttempts": d.max_attempts,
            "error": error,
        }
        if d.attempts < d.max_attempts:
            delay = min(self.settings.retry_backoff_seconds * 2 ** (d.attempts - 1), MAX_BACKOFF_SECONDS)
            context.logger.warn(f"↻ retrying in {delay:g}s", fields)
            await self._record_outcome(d, "retry", lambda: self.journal.retry_later(d.id, delay, error))
            asyncio.get_running_loop().call_later(delay, self._wake.set)
            outcome = "retried"
        else:
            context.logger.error("☠️ dead-lettered: no tries left (see `python -m steprunner events`)", fields)
            await self._record_outcome(d, "dead-letter", lambda: self.journal.dead_letter(d.id, error))
            outcome = "dead"
        self.notify(DeliveryEnded(d.trace_id, d.id, d.step, outcome, started, time.time() - started, error))

    async def run_in_transaction(self, run: Callable[[], Awaitable[T]], ack: int | None = None) -> tuple[T, bool]:
        """Run a handler (`run()`) in one transaction with the pet store when the journal offers one
        (PostgreSQL): its store writes, its emits and the ack of delivery `ack` commit together as it
        returns, or roll back as it raises or the commit fails (ClaimLost, a lost connection).

        Returns `run()`'s result and whether `ack` was acked; without a transaction (SQLite) `run()`
        runs as it is, each write committing on its own, and nothing is acked.
        """
        tx = self.journal.handler_transaction()
        if tx is None:
            return await run(), False
        if isinstance(tx, handler_transaction.HandlerTransaction):
            tx.commit_so_far = lambda: self._commit(tx, None, reopen=True)  # `waiting_outside`
        try:
            with handler_transaction.bound(tx):
                result = await run()
            await self._commit(tx, ack)
            return result, ack is not None
        finally:
            await asyncio.shield(tx.rollback())  # after a commit, nothing is left to roll back

    async def _commit(self, tx: Transaction, ack: int | None, reopen: bool = False) -> None:
        """Commit a handler's transaction with its emits (and the ack of `ack`), then start what it emitted;
        `reopen`: what it did so far, the handler going on (its next write begins a new transaction)."""
        rows = tx.emitted
        lease = self._lease_for([self.by_name[r.step] for r in rows]) if self.running and rows else None
        ids = await self.journal.commit_handler(tx, lease, ack)
        if reopen and isinstance(tx, handler_transaction.HandlerTransaction):
            tx.reopen()
        self._start_deliveries(ids, rows)

    async def _record_outcome(self, d: Delivery, what: str, op: Callable[[], Awaitable[None]]) -> bool:
        """Write a delivery's outcome (ack, retry, dead letter), retrying a failed write a few times.

        A failed write must not end the delivery task with an exception nobody retrieves: the
        delivery would sit claimed until its lease ran out, and its handler ran for nothing.
        A database locked or a disk full for a moment is worth waiting out; after the last
        try the claim is left to the lease, and a later sweep runs the handler again.
        """
        for delay in (*BOOKKEEPING_RETRY_DELAYS, None):
            try:
                await op()
                return True
            except Exception as exc:  # noqa: BLE001 - logged and retried; the task must end cleanly
                fields = {"deliveryId": d.id, "topic": d.topic, "error": repr(exc)}
                if delay is None:
                    runtime_log.error(
                        f"could not record delivery {what}; giving up: it stays claimed until released at shutdown "
                        "or its lease runs out, then runs again",
                        {**fields, "step": d.step},
                    )
                    return False
                runtime_log.warn(
                    f"could not record delivery {what}; trying again in {delay:g}s", {**fields, "step": d.step}
                )
                await asyncio.sleep(delay)  # a backoff before the next write, not a wait for another task
        return False

    # --- observing ------------------------------------------------------------------------

    def add_observer(self, observer: Observer) -> None:
        """Call `observer` with every `steprunner.observe` record from now on."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def notify(self, observation: Observation) -> None:
        """Tell every observer; the HTTP layer and cron report here too. An observer that raises is logged."""
        for observer in self._observers:
            try:
                observer(observation)
            except Exception as exc:  # noqa: BLE001 - a broken observer must not fail an emit or a request
                runtime_log.error(f"observer {observer!r} failed: {exc!r}", {"observation": type(observation).__name__})

    def context_for(self, step: Step, trace_id: str) -> Context:
        """The `context` a handler of `step` gets: it emits through this bus and keeps state in its journal."""
        return Context(step, trace_id, self.publish, self.journal, self.streams, strict=self.settings.strict)

    # --- the sweep and the lease ------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def sweep_once(self) -> int:
        free = self.capacity - len(self._inflight)
        names = [name for name, s in self.by_name.items() if isinstance(s.config, EventConfig)]
        lease = self._lease_for([self.by_name[n] for n in names])
        deliveries = await self.journal.claim(free, lease, names) if free > 0 and names else []
        for d in deliveries:
            self._start(d)
        return len(deliveries)

    async def _sweep_loop(self) -> None:
        while self.running:
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.sweep_once()
            except Exception as exc:  # noqa: BLE001 - a locked database now is not fatal later
                runtime_log.error("event sweep failed", {"error": repr(exc)})

    async def _renew_loop(self) -> None:
        interval = self.settings.lease_seconds / 3
        lease = self._lease_for([s for s in self.by_name.values() if isinstance(s.config, EventConfig)])
        while self.running:
            try:
                await self.journal.heartbeat(self.settings.lease_seconds)
                if self._inflight:
                    await self.journal.renew(lease)
            except Exception as exc:  # noqa: BLE001 - the loop must live on: without it every lease runs out
                runtime_log.error(
                    "could not renew the leases of running deliveries; trying again at the next beat",
                    {"error": repr(exc)},
                )
            await asyncio.sleep(interval)  # a lease heartbeat, not a wait for work

    def start(self, sweep: bool = True) -> None:
        """Begin delivering. Without `sweep` (the one-shot CLI commands) only what this process emits runs."""
        self.running = True
        if sweep:
            self.journal.listen(self.wake)
            self._tasks = [asyncio.create_task(self._sweep_loop()), asyncio.create_task(self._renew_loop())]
            self._wake.set()

    async def drain(self, timeout: float = 60.0) -> bool:
        """Wait until nothing this process started is still running; False if the deadline passed first."""
        deadline = time.monotonic() + timeout
        while self._inflight:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.wait(list(self._inflight.values()), timeout=remaining)
        return True

    async def stop(self) -> None:
        """Stop claiming; let in-flight handlers finish within the grace period; hand back the rest."""
        self.running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inflight:
            _, unfinished = await asyncio.wait(
                list(self._inflight.values()), timeout=self.settings.shutdown_grace_seconds
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        try:
            released = await self.journal.release()
        except (
            JournalError,
            DatabaseBusy,
        ) as exc:  # the database went first: the claims' leases run out and they are taken over
            runtime_log.warn(
                "could not hand back unfinished deliveries; they are taken over once their lease ends",
                {"error": str(exc)},
            )
            return
        if released:
            runtime_log.warn("left unfinished deliveries pending for the next start", {"count": released})
