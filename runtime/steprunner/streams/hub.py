"""The WebSocket side of Motia Streams: clients join a stream's group or item and get its changes pushed.

One hub per process tails the stream store's change log (shared by every process, and every node
on PostgreSQL) and speaks Motia's WebSocket protocol on every path of the server's port. The
protocol, its guards and where steprunner differs from Motia: runtime/docs/streams.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from steprunner.log import runtime_log
from steprunner.settings import Faults
from steprunner.staff_key import header_bytes, is_staff_key, sent_in_header
from steprunner.streams.api import Stream, StreamsNamespace, now_ms
from steprunner.streams.config import StreamDef
from steprunner.streams.store import KEEP_SECONDS, Change, StreamStore

PRUNE_EVERY_SECONDS = 30.0
MAX_QUEUED_MESSAGES = 1000  # a client this far behind is disconnected rather than buffered for ever
ACCESS_DENIED_CODE = "STREAM_ACCESS_DENIED"


@dataclass
class Subscription:
    client: Client
    subscription_id: str
    stream: str
    group_id: str
    item_id: str | None
    after: int  # changes up to this seq are already in the sync this subscription got


class Client:
    """One WebSocket: messages go out through a queue and one writer task, so a slow client holds up only itself."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write())
        self._closing: asyncio.Task[None] | None = None

    def push(self, message: dict[str, Any]) -> None:
        if self.writer.done():
            return
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            runtime_log.warn("stream client too far behind: disconnecting it", {"queued": self.queue.qsize()})
            self.writer.cancel()
            self._closing = asyncio.create_task(self._close_socket())
            return
        self.queue.put_nowait(json.dumps(message))

    async def _close_socket(self) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=1013)  # "try again later"

    async def _write(self) -> None:
        with contextlib.suppress(Exception):  # the socket went away: the reader side cleans up
            while True:
                await self.websocket.send_text(await self.queue.get())

    async def close(self) -> None:
        self.writer.cancel()
        await asyncio.gather(self.writer, return_exceptions=True)


def _message(stream: str, group_id: str, item_id: str | None, event: dict[str, Any], timestamp: int) -> dict[str, Any]:
    """A server message in Motia's shape (`id` only when there is one: JSON.stringify drops undefined)."""
    message: dict[str, Any] = {"timestamp": timestamp, "streamName": stream, "groupId": group_id}
    if item_id is not None:
        message["id"] = item_id
    message["event"] = event
    return message


def _error_event(message: str) -> dict[str, Any]:
    return {"type": "event", "event": {"type": "error", "data": {"code": ACCESS_DENIED_CODE, "message": message}}}


def _host_of(origin: str) -> str:
    return (urlsplit(origin).hostname or "").lower()


class StreamHub:
    """This process's streams: the handler API, the change-log tail and the WebSocket endpoint."""

    def __init__(
        self,
        definitions: list[StreamDef],
        store: StreamStore,
        allowed_hosts: list[str],
        staff_key: str | None,
        faults: Faults | None = None,
    ) -> None:
        self.definitions = {d.name: d for d in definitions}
        self.store = store
        self.allowed_hosts = [h.strip("[]") for h in allowed_hosts]
        self.staff_key = staff_key or None
        self.streams = StreamsNamespace({d.name: Stream(d, store, self.wake, faults) for d in definitions})
        self._subs: list[Subscription] = []
        self._last = 0  # the seq this process has pushed to its clients up to
        self._lock = asyncio.Lock()  # one tail at a time, and no join while one runs
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_stamp = 0

    async def start(self) -> None:
        await self.store.start()
        self._last = await self.store.high_water()
        if self.definitions:  # a project without streams has nothing to tail (its joins are all refused)
            self.store.listen(self.wake)
            self._task = asyncio.create_task(self._tail_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for client in {s.client for s in self._subs}:
            await client.close()
        self._subs = []
        await self.store.close()

    def wake(self) -> None:
        self._wake.set()

    def route(self) -> WebSocketRoute:
        """The WebSocket endpoint on every path, as Motia's `ws` server takes every upgrade."""
        return WebSocketRoute("/{path:path}", self.endpoint)

    def _stamp(self) -> int:
        self._last_stamp = max(now_ms(), self._last_stamp + 1)
        return self._last_stamp

    # --- tailing the change log ---

    async def _tail_loop(self) -> None:
        last_prune = 0.0
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.store.poll_seconds)
            self._wake.clear()
            try:
                async with self._lock:
                    await self._push_new()
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    last_prune = time.monotonic()
                    await self.store.prune(KEEP_SECONDS)
            except Exception as exc:  # noqa: BLE001 - a failed poll is retried on the next tick
                runtime_log.error("stream change log could not be read", {"error": repr(exc)})

    async def _push_new(self) -> None:
        """Push every change after `_last` to the subscriptions it concerns (call with the lock held)."""
        if not self._subs:
            return  # nobody to tell; a join sets `_last` from its snapshot
        while changes := await self.store.changes_after(self._last):
            for change in changes:
                self._push(change)
                self._last = change.seq

    def _push(self, change: Change) -> None:
        if change.kind == "event":
            event: dict[str, Any] = {"type": "event", "event": change.payload}
        else:
            event = {"type": change.kind, "data": change.payload}
        message = _message(change.stream, change.group_id, change.item_id, event, self._stamp())
        for sub in self._subs:
            if sub.after >= change.seq or sub.stream != change.stream or sub.group_id != change.group_id:
                continue
            if sub.item_id is None or sub.item_id == change.item_id:
                sub.client.push(message)

    # --- the endpoint ---

    def _refusal(self, websocket: WebSocket) -> tuple[int, str] | None:
        """Why this upgrade is refused (status, message), or None. The Host was checked by `HostAllowList`."""
        origin = websocket.headers.get("origin")
        if origin and "*" not in self.allowed_hosts and _host_of(origin) not in self.allowed_hosts:
            return 403, "Origin not allowed: streams answer pages served from the names in ALLOWED_HOSTS (and loopback)"
        if self.staff_key is None:
            return None
        sent = self._sent_key(websocket)
        if sent is None:
            return (
                401,
                "A staff key is required: send `Authorization: Bearer <key>`, `?authToken=<key>` "
                "or the subprotocols `Authorization, <key>`",
            )
        if not is_staff_key(sent, self.staff_key):
            return 401, "Wrong staff key"
        return None

    @staticmethod
    def _sent_key(websocket: WebSocket) -> bytes | None:
        """The key's bytes as sent: a header's wire bytes, or `?authToken=`'s percent-encoded UTF-8."""
        header = websocket.headers.get("authorization")
        if header:
            return sent_in_header(header)
        tokens = parse_qs(websocket.url.query).get("authToken")
        if tokens:
            return tokens[0].encode("utf-8")
        protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
        if len(protocols) >= 2 and protocols[0] == "Authorization":
            return header_bytes(protocols[1])
        return None

    async def endpoint(self, websocket: WebSocket) -> None:
        refusal = self._refusal(websocket)
        if refusal is not None:
            status, reason = refusal
            await websocket.send_denial_response(JSONResponse({"message": reason}, status_code=status))
            return
        offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        await websocket.accept(subprotocol=offered[0] if offered else None)  # `ws` picks the first offered, too
        client = Client(websocket)
        try:
            while True:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                text: Any = frame.get("text")
                if text is None:
                    text = (frame.get("bytes") or b"").decode("utf-8", "replace")
                await self._handle(client, str(text))
        except WebSocketDisconnect:
            pass
        finally:
            self._subs = [s for s in self._subs if s.client is not client]
            await client.close()

    async def _handle(self, client: Client, text: str) -> None:
        """One client message, in order (as Motia chains them), so a leave never overtakes its join."""
        try:
            message = json.loads(text)
            kind, data = message["type"], message["data"]
            stream, group_id, sub_id = data["streamName"], data["groupId"], data.get("subscriptionId")
            item_id = data.get("id")
            if not all(isinstance(v, str) for v in (stream, group_id)) or not isinstance(item_id, (str, type(None))):
                raise TypeError("streamName and groupId must be strings")
        except (ValueError, KeyError, TypeError) as exc:
            runtime_log.debug("stream message ignored", {"error": repr(exc)})
            return
        if kind == "leave":
            self._subs = [s for s in self._subs if not (s.client is client and s.subscription_id == sub_id)]
        elif kind == "join" and isinstance(sub_id, str):
            await self._join(client, stream, group_id, item_id or None, sub_id)

    async def _join(self, client: Client, stream: str, group_id: str, item_id: str | None, sub_id: str) -> None:
        definition = self.definitions.get(stream)
        if definition is None:
            client.push(_message(stream, group_id, item_id, _error_event(f"Stream {stream} not found"), self._stamp()))
            client.push(_message(stream, group_id, item_id, _error_event("Access denied"), self._stamp()))
            return
        if not await self._can_access(definition, group_id, item_id):
            client.push(_message(stream, group_id, item_id, _error_event("Access denied"), self._stamp()))
            return
        async with self._lock:
            data, seq = await self.store.snapshot(stream, group_id, item_id)
            if not self._subs:
                self._last = seq  # nothing was tailed while nobody listened: start from here
            if item_id is None or data is not None:
                client.push(_message(stream, group_id, item_id, {"type": "sync", "data": data}, self._stamp()))
            self._subs.append(Subscription(client, sub_id, stream, group_id, item_id, after=seq))

    async def _can_access(self, definition: StreamDef, group_id: str, item_id: str | None) -> bool:
        if definition.can_access is None:
            return True
        subscription: dict[str, Any] = {"groupId": group_id}
        if item_id is not None:
            subscription["id"] = item_id
        try:
            allowed = definition.can_access(subscription, None)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            return bool(allowed)
        except Exception as exc:  # noqa: BLE001 - a failing canAccess denies, as under Motia
            runtime_log.error(
                "stream canAccess failed", {"stream": definition.name, "file": definition.file, "error": repr(exc)}
            )
            return False
