"""Live traces of every node, when DATABASE_URL is set: a trace shows its whole chain, whichever node ran each part.

Records are batched off the request's path into one table and read lazily by the other nodes;
what is written, when it is read and what may be lost: runtime/docs/traces.md, and why
docs/decisions.md#40.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import TypeAdapter

from steprunner.db.pool import Database, database
from steprunner.log import runtime_log
from steprunner.observe import (
    CronEnded,
    CronStarted,
    DeliveryEnded,
    DeliveryStarted,
    Emitted,
    RequestEnded,
    RequestStarted,
)
from steprunner.web.traces import RAW_LIMIT, Entry, LogLine, TraceRecorder, bounded_fields

CHANNEL = "steprunner_traces"  # NOTIFY: a node shared a batch
BATCH_SECONDS = 0.1  # how long the flusher gathers records before writing them
BATCH_RECORDS = 500  # ... unless this many are queued
QUEUE_LIMIT = 20_000  # records waiting to be written (the oldest go first while the database is slow)
KEEP_SECONDS = 300.0
KEEP_RECORDS = 50_000  # about 10 MB of rows
TRIM_EVERY_SECONDS = 30.0
FETCH_RECORDS = RAW_LIMIT
RETRY_SECONDS = 1.0  # after a failed write, the next try
STOP_FLUSH_SECONDS = 2.0  # a stopping node writes what it still holds, for at most this long

KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (RequestStarted, RequestEnded, CronStarted, CronEnded, Emitted, DeliveryStarted, DeliveryEnded, LogLine)
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(cls) for name, cls in KINDS.items()}

_INSERT = f"""
WITH n AS (UPDATE steprunner_trace_seq SET seq = seq + 1 RETURNING seq),
b AS (INSERT INTO steprunner_trace_batches (seq, node, records, batch) SELECT seq, %s, %s, %s FROM n RETURNING seq)
SELECT pg_notify('{CHANNEL}', '') FROM b
"""
# The counter and the other nodes' newest batches after `after` (at most `limit` records), from one snapshot.
_FETCH = """
SELECT s.seq, b.node, b.batch FROM steprunner_trace_seq s LEFT JOIN LATERAL (
    SELECT seq, node, batch FROM (
        SELECT seq, node, batch, records, sum(records) OVER (ORDER BY seq DESC) AS newer
        FROM steprunner_trace_batches WHERE seq > %(after)s AND node <> %(node)s) n
    WHERE newer - records < %(limit)s) b ON true
ORDER BY b.seq
"""
_TRIM = """
DELETE FROM steprunner_trace_batches WHERE at < now() - make_interval(secs => %(seconds)s) OR seq <= (
    SELECT seq FROM (SELECT seq, sum(records) OVER (ORDER BY seq DESC) AS newer FROM steprunner_trace_batches) n
    WHERE newer > %(records)s ORDER BY seq DESC LIMIT 1)
"""


def encode(records: Iterable[tuple[float, Entry]], redact: Callable[[Any], Any]) -> tuple[str, int]:
    """A batch's JSON text and how many records it holds; each record redacted, a log line's fields bounded."""
    out = []
    for when, entry in records:
        kind = type(entry).__name__
        if isinstance(entry, LogLine):
            entry = dataclasses.replace(
                entry, fields=bounded_fields(redact(entry.fields))
            )  # before bounding: a cut traceback can't be dropped
        out.append([when, kind, redact(_ADAPTERS[kind].dump_python(entry, mode="json"))])
    return json.dumps(out, ensure_ascii=False), len(out)


def decode(text: str) -> list[tuple[float, Entry]]:
    """A batch's records; one that is not a known kind with valid fields is skipped."""
    records: list[tuple[float, Entry]] = []
    for item in json.loads(text):
        try:
            when, kind, fields = item
            records.append((float(when), _ADAPTERS[kind].validate_python(fields)))
        except (ValueError, TypeError, KeyError):  # pydantic's ValidationError is a ValueError
            continue
    return records


class PgTraceShare:
    """This node's side of the shared traces (`steprunner.traces.Sharing`); the table comes from `db migrate`."""

    def __init__(self, url: str, node: str, poll_seconds: float) -> None:
        self.node = node
        self.database: Database = database(url)
        self.poll_seconds = poll_seconds
        self._recorder: TraceRecorder | None = None
        self._redact: Callable[[Any], Any] = lambda value: value
        # writing (the queue from any thread; the flusher on the database's loop)
        self._queue: deque[tuple[float, Entry]] = deque(maxlen=QUEUE_LIMIT)
        self._queue_lock = threading.Lock()
        self._flusher: concurrent.futures.Future[None] | None = None
        self._flusher_loop: asyncio.AbstractEventLoop | None = None
        self._queued: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        # reading (on the server's loop)
        self._after = 0  # the last batch read
        self._reading = asyncio.Lock()
        self._notified = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._listener: concurrent.futures.Future[None] | None = None
        self._failing: set[str] = set()  # what failed last time it was tried (logged once until it works again)

    async def start(self, recorder: TraceRecorder, redact: Callable[[Any], Any]) -> None:
        """Share `recorder`'s records from now on, and fold in the others' from now on (call on the server's loop)."""
        self._recorder, self._redact = recorder, redact
        self._after = await self.database.submit(self._high_water())
        recorder.tap = self.queue
        self._flusher = self.database.spawn(self._flush_loop())
        self._watcher = asyncio.create_task(self._watch_loop())

    async def stop(self) -> None:
        """Stop reading, write what is still queued (briefly), stop writing."""
        if self._recorder is not None:
            self._recorder.tap = None
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.database.submit(self._write_queued()), STOP_FLUSH_SECONDS)

    # --- writing --------------------------------------------------------------------------

    def queue(self, when: float, entry: Entry) -> None:
        """The recorder's tap: keep one record for the next batch (any thread; on the request's path, so short)."""
        with self._queue_lock:
            self._queue.append((when, entry))
            queued = len(self._queue)
        loop = self._flusher_loop
        if loop is not None and (queued == 1 or queued == BATCH_RECORDS):  # the first of a batch, or a full one
            loop.call_soon_threadsafe(self._kick, queued >= BATCH_RECORDS)

    def _kick(self, full: bool) -> None:
        assert self._queued is not None and self._full is not None
        self._queued.set()
        if full:
            self._full.set()

    async def _flush_loop(self) -> None:
        queued, full = self._queued, self._full = asyncio.Event(), asyncio.Event()
        self._flusher_loop = asyncio.get_running_loop()
        queued.set()  # whatever was queued before this loop ran
        trimmed = time.monotonic()
        while True:
            await queued.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(full.wait(), BATCH_SECONDS)  # gather a batch, not a wait for another task
            queued.clear()
            full.clear()
            if not await self._write_queued():
                await asyncio.sleep(RETRY_SECONDS)  # a backoff while the database fails, not a wait for another task
                queued.set()  # what is still queued: a later record may not kick again (the queue is not empty)
            if time.monotonic() - trimmed > TRIM_EVERY_SECONDS:
                trimmed = time.monotonic()
                try:
                    await self._trim()
                    self._works("trim the shared trace records")
                except Exception as exc:  # noqa: BLE001 - the flusher must live on; the next trim tries again
                    self._failed("trim the shared trace records", exc)

    async def _write_queued(self) -> bool:
        """Write everything queued, a batch per row (on the database's loop); False if a write failed
        (that batch is dropped, the rest stays queued)."""
        while True:
            with self._queue_lock:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), BATCH_RECORDS))]
            if not batch:
                return True
            try:
                await self._insert(batch)
                self._works("share trace records with the other nodes")
            except Exception as exc:  # noqa: BLE001 - the flusher must live on
                self._failed("share trace records with the other nodes", exc)
                return False

    async def _insert(self, batch: list[tuple[float, Entry]]) -> None:
        text, count = encode(batch, self._redact)
        async with self.database.connection() as conn:
            await conn.execute(_INSERT, (self.node, count, text))

    async def _trim(self) -> None:
        async with self.database.connection() as conn:
            await conn.execute(_TRIM, {"seconds": KEEP_SECONDS, "records": KEEP_RECORDS})

    # --- reading --------------------------------------------------------------------------

    def watch(self) -> None:
        """Someone subscribed (call on the server's loop): listen for the others' batches from now on."""
        if self._listener is None:
            self._listener = self.database.listen(CHANNEL, self._notified.set, "live traces of other nodes")

    async def catch_up(self) -> None:
        """Fold the other nodes' batches since the last read into the recorder; a failure is logged, not raised."""
        recorder = self._recorder
        if recorder is None:
            return
        async with self._reading:  # one read at a time: each batch is folded in once
            try:
                high, batches = await self.database.submit(self._fetch(self._after))
                self._works("read the other nodes' trace records")
            except Exception as exc:  # noqa: BLE001 - the page shows this node's traces meanwhile
                self._failed("read the other nodes' trace records", exc)
                return
            for node, records in batches:
                recorder.ingest(node, records)
            self._after = high

    async def _watch_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._notified.wait(), self.poll_seconds)
            self._notified.clear()
            if self._recorder is not None and self._recorder.watched():
                await self.catch_up()

    async def _high_water(self) -> int:
        async with self.database.connection() as conn:
            row = await (await conn.execute("SELECT seq FROM steprunner_trace_seq")).fetchone()
            return int(row[0]) if row else 0

    async def _fetch(self, after: int) -> tuple[int, list[tuple[str, list[tuple[float, Entry]]]]]:
        """The counter and the other nodes' batches after `after`, decoded (on the database's loop)."""
        async with self.database.connection() as conn:
            rows = await (
                await conn.execute(_FETCH, {"after": after, "node": self.node, "limit": FETCH_RECORDS})
            ).fetchall()
        batches = [(node, decode(text)) for _, node, text in rows if node is not None]
        return (int(rows[0][0]) if rows else after), batches

    def _failed(self, what: str, exc: Exception) -> None:
        if what not in self._failing:  # once, until it works again
            self._failing.add(what)
            runtime_log.warn(
                f"could not {what}; live traces may miss other nodes' steps meanwhile",
                {"error": f"{type(exc).__name__}: {str(exc).strip()}"},
            )

    def _works(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            runtime_log.info(f"can {what} again")
