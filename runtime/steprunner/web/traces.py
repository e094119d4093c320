"""Live traces: what each request, event and cron tick set off, kept in memory for the flow view.

The recorder observes the bus and the log, groups records by trace id, and builds traces only
when someone reads them; bounded, shared between nodes with DATABASE_URL (web/trace_share.py).
States, bounds and threading: runtime/docs/traces.md.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from steprunner.observe import (
    CronEnded,
    CronStarted,
    DeliveryEnded,
    DeliveryStarted,
    Emitted,
    Observation,
    RequestEnded,
    RequestStarted,
)

FLUSH_DELAY_SECONDS = 0.05
RAW_LIMIT = 20_000  # observer calls and log lines queued while nobody watches (the oldest go first)
MAX_FIELD_CHARS = 2000
MAX_BYTES = 32 * 1024 * 1024  # what the queue and the traces kept may hold together, about
ENTRY_OVERHEAD = 400  # bytes a record costs beyond its strings (the objects, the dict of a log line)


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log line that names a trace, as the recorder keeps it (and nodes share it)."""

    trace_id: str
    time: float
    level: str | None
    step: str | None
    message: str | None
    fields: dict[str, Any]


Entry = Observation | LogLine  # what the recorder folds into traces
Tap = Callable[[float, Entry], None]  # told of every record this process makes: (time, record)


def log_line(record: dict[str, Any]) -> LogLine | None:
    """A `steprunner.log` record as a trace's log line; None when it names no trace."""
    trace_id = record.get("traceId")
    if not trace_id:
        return None
    message = record.get("message")
    fields = dict(record.get("fields") or {})
    if size_of(fields, MAX_FIELD_CHARS * 2) > MAX_FIELD_CHARS * 2:
        fields = {"truncated": bounded_text(fields)}  # a huge value is not kept until someone looks
    return LogLine(
        str(trace_id),
        float(record.get("time") or time.time()),
        record.get("level"),
        record.get("step"),
        message[:MAX_FIELD_CHARS] if isinstance(message, str) else message,
        fields,
    )  # otherwise bounded when recorded: most lines are never looked at


def size_of(value: Any, limit: int) -> int:
    """About how many bytes `value`'s text takes, counted only until it passes `limit` (cheap for small values)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            total += len(str(key)) + size_of(item, limit - total) + 4
            if total > limit:
                break
        return total
    if isinstance(value, list | tuple):
        total = 0
        for item in value:
            total += size_of(item, limit - total) + 2
            if total > limit:
                break
        return total
    return 8


def entry_bytes(entry: Entry) -> int:
    """About what a record costs the recorder while it is queued or kept: its strings and a fixed overhead."""
    size = ENTRY_OVERHEAD + len(entry.trace_id)
    if isinstance(entry, LogLine):
        return size + len(entry.message or "") + size_of(entry.fields, MAX_FIELD_CHARS * 2)
    for name in ("step", "topic", "source", "path", "error"):
        value = getattr(entry, name, None)
        if isinstance(value, str):
            size += len(value)
    return size + 64 * len(getattr(entry, "subscribers", ()))


@dataclass
class Span:
    """One run of one step within a trace: the API handler, a delivery attempt or a cron run."""

    key: str
    step: str
    kind: str  # api | event | cron
    started: float
    topic: str | None = None
    attempt: int = 1
    duration: float | None = None
    outcome: str = "running"  # running | ok | retried | dead | error
    status: int | None = None
    error: str | None = None
    node: str | None = None  # the node that ran it (database mode only)

    def shown(self) -> dict[str, Any]:
        shown = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if self.node is None:
            del shown["node"]
        return shown


@dataclass
class Trace:
    trace_id: str
    started: float
    origin: dict[str, Any]
    ended: float | None = None
    spans: list[Span] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    emits: list[dict[str, Any]] = field(default_factory=list)
    awaiting: dict[str, int] = field(default_factory=dict)  # step -> deliveries emitted but not finished for good
    dropped: int = 0
    failed: bool = False
    bytes: int = 0  # about what its spans, log lines and emits cost (entry_bytes)

    def running(self) -> bool:
        return any(s.outcome == "running" for s in self.spans) or any(n > 0 for n in self.awaiting.values())

    def status(self) -> str:
        if self.running():
            return "running"
        return "error" if self.failed else "ok"

    def summary(self) -> dict[str, Any]:
        retries = sum(1 for s in self.spans if s.outcome == "retried")
        return {
            "traceId": self.trace_id,
            "origin": self.origin,
            "status": self.status(),
            "started": self.started,
            "ended": None if self.running() else self.ended,
            "duration": None if self.running() or self.ended is None else self.ended - self.started,
            "steps": len(self.spans),
            "retries": retries,
            "logs": len(self.logs),
        }

    def detail(self, in_time_order: bool = False) -> dict[str, Any]:
        """`in_time_order`: spans and log lines sorted by time (other nodes' records arrive late)."""
        spans, logs = self.spans, self.logs
        if in_time_order:
            spans, logs = sorted(spans, key=lambda s: s.started), sorted(logs, key=lambda line: line["time"])
        return {
            **self.summary(),
            "spans": [span.shown() for span in spans],
            "emits": list(self.emits),
            "logLines": list(logs),
            "dropped": self.dropped,
        }


def bounded_text(fields: dict[str, Any]) -> str:
    try:
        text = json.dumps(fields, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(fields)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def bounded_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Log fields as the page shows them; a huge value (a whole pet list, say) is cut, not kept."""
    text = bounded_text(fields)
    if not text.endswith("…"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return {"truncated": text}


class Subscriber:
    """One browser's stream: trace summaries waiting to be sent, or a request to resend everything."""

    def __init__(self, limit: int) -> None:
        self.pending: deque[dict[str, Any]] = deque()
        self.limit = limit
        self.resync = False
        self.closed = False
        self.wakeup = asyncio.Event()

    def push(self, message: dict[str, Any]) -> None:
        if len(self.pending) >= self.limit:
            self.pending.clear()
            self.resync = True  # a slow reader gets a fresh snapshot instead of an unbounded backlog
        else:
            self.pending.append(message)
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.wakeup.wait(), timeout)
        except TimeoutError:
            pass
        self.wakeup.clear()

    def take(self) -> list[dict[str, Any]]:
        out = list(self.pending)
        self.pending.clear()
        return out


class Sharing(Protocol):
    """Sharing traces with the other nodes (database mode: web/trace_share.py), as the web UI uses it."""

    node: str  # this process's name among the nodes

    async def start(self, recorder: TraceRecorder, redact: Callable[[Any], Any]) -> None: ...

    async def stop(self) -> None: ...

    async def catch_up(self) -> None:
        """Fold what the other nodes shared since the last call into the recorder (never raises)."""

    def watch(self) -> None:
        """Someone subscribed: from now on, fold the others' records in as they are shared."""


class TraceRecorder:
    def __init__(
        self,
        max_traces: int = 300,
        max_entries: int = 300,
        max_total: int = 20_000,
        node: str | None = None,
        max_bytes: int = MAX_BYTES,
        shown: Callable[[Any], Any] | None = None,
    ) -> None:
        """`node`: this process's name when traces are shared between nodes (database mode), else None.
        `shown`: what of a log line's fields may be shown (runtime/steprunner/web/redaction.py), applied before a long
        value is cut: once cut into one string, a traceback inside could no longer be dropped."""
        self._shown = shown if shown is not None else (lambda value: value)
        self.max_traces = max_traces
        self.max_entries = max_entries
        self.max_total = max_total
        self.max_bytes = max_bytes
        self._total = 0  # spans + log lines + emits kept, over all traces
        self._bytes = 0  # about what the queue and the traces kept hold (entry_bytes), at most max_bytes
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._dirty: set[str] = set()
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.node = node
        self.tap: Tap | None = None  # database mode: the share, told of every record this process makes
        # (time, node, record, its entry_bytes), oldest first; at most RAW_LIMIT records and max_bytes
        self._raw: deque[tuple[float, str | None, Entry, int]] = deque()
        self._raw_limit = max(RAW_LIMIT, max_total)

    # --- wiring ---------------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Pushes go through this loop (the server's); before it is bound, nothing is pushed."""
        self._loop = loop

    def close(self) -> None:
        """End every open stream (the server is stopping: an open stream would hold it up)."""
        self._closed = True
        for subscriber in list(self._subscribers):
            subscriber.close()

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(limit=max(100, self.max_traces))
        if self._closed:
            subscriber.close()
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def watched(self) -> bool:
        return bool(self._subscribers)

    # --- reading --------------------------------------------------------------------------

    def summaries(self) -> list[dict[str, Any]]:
        """Newest first, by when each trace started (other nodes' traces arrive in batches, later than they began)."""
        with self._lock:
            self._drain()
            return [t.summary() for t in sorted(self._traces.values(), key=lambda t: t.started, reverse=True)]

    def detail(self, trace_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._drain()
            trace = self._traces.get(trace_id)
            return trace.detail(in_time_order=self.node is not None) if trace else None

    # --- recording ------------------------------------------------------------------------

    def _trace(self, trace_id: str, now: float, origin: dict[str, Any]) -> Trace:
        trace = self._traces.get(trace_id)
        if trace is None:
            trace = Trace(trace_id=trace_id, started=now, origin=origin, bytes=ENTRY_OVERHEAD + len(trace_id))
            self._bytes += trace.bytes
            self._traces[trace_id] = trace
            while len(self._traces) > self.max_traces:
                self._forget_oldest()
        elif now < trace.started:
            trace.started = now  # a record of another node's that arrived late
        return trace

    def _root(self, trace_id: str, now: float, origin: dict[str, Any]) -> Trace:
        """The trace a request or cron run starts: its origin, even when another node's records came first."""
        trace = self._trace(trace_id, now, origin)
        if trace.origin["kind"] not in ("api", "cron"):
            trace.origin = origin
        return trace

    @staticmethod
    def _ended(trace: Trace, now: float) -> None:
        """The trace's latest end so far (another node's records may arrive after later ones)."""
        if trace.ended is None or now > trace.ended:
            trace.ended = now

    def _forget_oldest(self) -> None:
        _, old = self._traces.popitem(last=False)
        self._total -= len(old.spans) + len(old.logs) + len(old.emits)
        self._bytes -= old.bytes

    def _room(self, trace: Trace, entries: list[Any], cost: int) -> bool:
        """Whether one more entry (of about `cost` bytes) may join `entries` of `trace`; makes room by
        forgetting old traces."""
        if len(entries) >= self.max_entries:
            trace.dropped += 1
            return False
        while (
            (self._total >= self.max_total or self._bytes + cost > self.max_bytes)
            and len(self._traces) > 1
            and next(iter(self._traces)) != trace.trace_id
        ):
            self._forget_oldest()
        if self._bytes + cost > self.max_bytes:
            trace.dropped += 1  # the trace being written is the only one left and it is full
            return False
        self._total += 1
        self._bytes += cost
        trace.bytes += cost
        return True

    def _add_span(self, trace: Trace, span: Span, cost: int) -> None:
        if self._room(trace, trace.spans, cost):
            trace.spans.append(span)

    def observe(self, observation: Observation) -> None:
        """An event-bus observer: `bus.add_observer(recorder.observe)`."""
        if observation.trace_id:
            self._queue(time.time(), observation)

    def on_log(self, record: dict[str, Any]) -> None:
        """A `steprunner.log` listener: every log line with a trace id joins that trace."""
        line = log_line(record)
        if line is not None:
            self._queue(line.time, line)

    def _queue(self, when: float, entry: Entry) -> None:
        self._enqueue(when, self.node, entry)
        tap = self.tap
        if tap is not None:
            tap(when, entry)
        if self._subscribers:
            self._record_now()

    def ingest(self, node: str, entries: Iterable[tuple[float, Entry]]) -> None:
        """Records another node made (database mode), folded in as this process's own are."""
        for when, entry in entries:
            self._enqueue(when, node, entry)
        if self._subscribers:
            self._record_now()

    def _enqueue(self, when: float, node: str | None, entry: Entry) -> None:
        """Queue a record; the oldest queued go first past RAW_LIMIT records or the byte budget."""
        size = entry_bytes(entry)
        with self._lock:
            raw = self._raw
            raw.append((when, node, entry, size))
            self._bytes += size
            while len(raw) > self._raw_limit:
                self._bytes -= raw.popleft()[3]
            while self._bytes > self.max_bytes and (self._traces or len(raw) > 1):
                if self._traces:
                    self._forget_oldest()  # kept traces are older than anything queued
                else:
                    self._bytes -= raw.popleft()[3]

    def _record_now(self) -> None:
        """Someone is watching: record what is queued at once and push it."""
        with self._lock:
            touched = self._drain()
        for trace_id in touched:
            self._touch(trace_id)

    def _drain(self) -> set[str]:
        """Record the queued calls and lines, oldest first (call with the lock held); their trace ids."""
        touched: set[str] = set()
        raw = self._raw
        while raw:
            when, node, entry, size = raw.popleft()
            self._bytes -= size  # counted again as kept (_room), if it is
            self._folds[type(entry)](self, entry, when, node, size)  # type: ignore[operator]
            touched.add(entry.trace_id)
        return touched

    def _log(self, line: LogLine, now: float, node: str | None, size: int) -> None:
        trace = self._trace(line.trace_id, now, {"kind": "log", "step": line.step})
        if self._room(trace, trace.logs, size):
            shown = {
                "time": line.time,
                "level": line.level,
                "step": line.step,
                "message": line.message,
                "fields": bounded_fields(self._shown(line.fields)),
            }
            if node is not None:
                shown["node"] = node
            trace.logs.append(shown)

    @staticmethod
    def _find(trace: Trace, key: str, node: str | None) -> Span | None:
        return next((s for s in reversed(trace.spans) if s.key == key and s.node == node), None)

    def _request_started(self, o: RequestStarted, now: float, node: str | None, size: int) -> None:
        trace = self._root(o.trace_id, now, {"kind": "api", "step": o.step, "method": o.method, "path": o.path})
        self._add_span(trace, Span(key="request", step=o.step, kind="api", started=now, node=node), size)

    def _request_ended(self, o: RequestEnded, now: float, node: str | None, size: int) -> None:
        trace = self._trace(o.trace_id, now, {"kind": "api", "step": o.step})
        span = self._find(trace, "request", node)
        if span:
            span.duration, span.status = now - span.started, o.status
            span.outcome = "error" if o.status >= 500 else "ok"
        trace.failed |= o.status >= 500
        self._ended(trace, now)

    def _cron_started(self, o: CronStarted, now: float, node: str | None, size: int) -> None:
        trace = self._root(o.trace_id, now, {"kind": "cron", "step": o.step})
        self._add_span(trace, Span(key="cron", step=o.step, kind="cron", started=now, node=node), size)

    def _cron_ended(self, o: CronEnded, now: float, node: str | None, size: int) -> None:
        trace = self._trace(o.trace_id, now, {"kind": "cron", "step": o.step})
        span = self._find(trace, "cron", node)
        if span:
            span.duration, span.outcome = now - span.started, "ok" if o.ok else "error"
        trace.failed |= not o.ok
        self._ended(trace, now)

    def _emitted(self, o: Emitted, now: float, node: str | None, size: int) -> None:
        trace = self._trace(o.trace_id, now, {"kind": "event", "step": o.source, "topic": o.topic})
        subscribers = list(o.subscribers)
        if self._room(trace, trace.emits, size):
            trace.emits.append({"time": now, "topic": o.topic, "source": o.source, "subscribers": subscribers})
        for name in subscribers:
            trace.awaiting[name] = trace.awaiting.get(name, 0) + 1
        if not subscribers:
            self._ended(trace, now)

    def _delivery_started(self, o: DeliveryStarted, now: float, node: str | None, size: int) -> None:
        trace = self._trace(o.trace_id, now, {"kind": "event", "step": o.step, "topic": o.topic})
        self._add_span(
            trace,
            Span(
                key=f"delivery:{o.delivery_id}:{o.attempt}",
                step=o.step,
                kind="event",
                started=now,
                topic=o.topic,
                attempt=o.attempt,
                node=node,
            ),
            size,
        )

    def _delivery_ended(self, o: DeliveryEnded, now: float, node: str | None, size: int) -> None:
        trace = self._trace(o.trace_id, now, {"kind": "event", "step": o.step})
        prefix = f"delivery:{o.delivery_id}:"
        span = next(
            (
                s
                for s in reversed(trace.spans)
                if s.key.startswith(prefix) and s.outcome == "running" and s.node == node
            ),
            None,
        )
        if span:
            span.started = o.started or span.started
            span.duration = o.duration if o.duration else now - span.started
            span.outcome = o.outcome
            span.error = o.error[:MAX_FIELD_CHARS] if o.error else o.error
        # Shared (database mode), the emit may be another node's and arrive after this: the count may go
        # below zero, and the emit brings it back. Alone, an emit never seen (another process's) is ignored.
        if o.outcome in ("ok", "dead") and (trace.awaiting.get(o.step, 0) > 0 or self.node is not None):
            trace.awaiting[o.step] = trace.awaiting.get(o.step, 0) - 1
        trace.failed |= o.outcome == "dead"
        self._ended(trace, now)

    _folds = {
        RequestStarted: _request_started,
        RequestEnded: _request_ended,
        CronStarted: _cron_started,
        CronEnded: _cron_ended,
        Emitted: _emitted,
        DeliveryStarted: _delivery_started,
        DeliveryEnded: _delivery_ended,
        LogLine: _log,
    }

    # --- pushing --------------------------------------------------------------------------

    def _touch(self, trace_id: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or not self._subscribers:
            return
        with self._lock:
            self._dirty.add(trace_id)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        loop.call_soon_threadsafe(loop.call_later, FLUSH_DELAY_SECONDS, self._flush)

    def _flush(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            self._flush_scheduled = False
            messages = [self._traces[t].summary() for t in dirty if t in self._traces]
        messages.sort(key=lambda m: m["started"])
        for subscriber in list(self._subscribers):
            for message in messages:
                subscriber.push(message)
