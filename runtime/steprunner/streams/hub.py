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
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from steprunner.log import runtime_log
from steprunner.settings import Faults
from steprunner.staff_key import header_bytes, is_staff_key, sent_in_header
from steprunner.streams.api import Stream, StreamsNamespace, now_ms
from steprunner.streams.client import Client, Room, Subscription
from steprunner.streams.config import StreamDef
from steprunner.streams.frames import MAX_NAME_CHARS, ClientFrame, Verdict, parse
from steprunner.streams.store import KEEP_SECONDS, Change, StreamStore

PRUNE_EVERY_SECONDS = 30.0
MAX_SUBSCRIPTIONS = 1000  # per socket; a join past it is refused with TOO_MANY_CODE
ACCESS_DENIED_CODE = "STREAM_ACCESS_DENIED"
TOO_MANY_CODE = "STREAM_TOO_MANY_SUBSCRIPTIONS"
BAD_FRAME_CODE = "STREAM_BAD_MESSAGE"
INVALID_FRAME = 1007  # the close code for a frame that is not JSON (or is nested too deep)


def _message(stream: str, group_id: str, item_id: str | None, event: dict[str, Any], timestamp: int) -> dict[str, Any]:
    """A server message in Motia's shape (`id` only when there is one: JSON.stringify drops undefined)."""
    message: dict[str, Any] = {"timestamp": timestamp, "streamName": stream, "groupId": group_id}
    if item_id is not None:
        message["id"] = item_id
    message["event"] = event
    return message


def _error_event(message: str, code: str = ACCESS_DENIED_CODE) -> dict[str, Any]:
    return {"type": "event", "event": {"type": "error", "data": {"code": code, "message": message}}}


BAD_FRAME_ANSWER = json.dumps(
    {
        "event": _error_event(
            f"streamName, groupId, id and subscriptionId are at most {MAX_NAME_CHARS} characters", BAD_FRAME_CODE
        )
    }
)  # names nothing back: a client that sent a megabyte of name gets these few bytes


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
        self._rooms: dict[Room, dict[Subscription, None]] = {}  # the subscriptions of each room, in join order
        self._clients: set[Client] = set()
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
        for client in list(self._clients):
            await client.close()
        self._clients.clear()
        self._rooms.clear()
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
        if not self._rooms:
            return  # nobody to tell; a join sets `_last` from its snapshot
        while changes := await self.store.changes_after(self._last):
            for change in changes:
                self._push(change)
                self._last = change.seq

    def _push(self, change: Change) -> None:
        """Send the change to its group's room and its item's room: the other rooms cost nothing."""
        if change.kind == "event":
            event: dict[str, Any] = {"type": "event", "event": change.payload}
        else:
            event = {"type": change.kind, "data": change.payload}
        rooms = [self._rooms.get((change.stream, change.group_id, None))]
        if change.item_id is not None:
            rooms.append(self._rooms.get((change.stream, change.group_id, change.item_id)))
        text: str | None = None
        for room in rooms:
            for sub in list(room or ()):
                if sub.after >= change.seq:
                    continue
                if text is None:  # one encoding for every client
                    text = json.dumps(_message(change.stream, change.group_id, change.item_id, event, self._stamp()))
                sub.client.push(text)

    def _add(self, sub: Subscription) -> None:
        self._rooms.setdefault(sub.room, {})[sub] = None
        sub.client.subscriptions[sub.subscription_id] = sub

    def _remove(self, client: Client, sub_id: str | None) -> None:
        sub = client.subscriptions.pop(sub_id, None) if sub_id is not None else None
        if sub is None:
            return
        room = self._rooms.get(sub.room)
        if room is not None:
            room.pop(sub, None)
            if not room:
                del self._rooms[sub.room]

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
        self._clients.add(client)
        try:
            while not client.dropped:
                frame = await websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                text = frame.get("text")
                if text is None:
                    text = frame.get("bytes") or b""
                await self._handle(client, text)
        except WebSocketDisconnect:
            pass
        finally:
            for sub_id in list(client.subscriptions):
                self._remove(client, sub_id)
            self._clients.discard(client)
            await client.close()

    async def _handle(self, client: Client, text: str | bytes) -> None:
        """One client message, in order (as Motia chains them), so a leave never overtakes its join."""
        frame = parse(text)
        if frame is Verdict.NOT_JSON:
            client.drop(
                "stream client sent a frame that is not JSON (or nested too deep): closing it", {}, INVALID_FRAME
            )
            return
        if frame is Verdict.TOO_LONG:
            client.push(BAD_FRAME_ANSWER)
            return
        if not isinstance(frame, ClientFrame):
            runtime_log.debug("stream message ignored", {"why": frame.value})
            return
        data = frame.data
        if frame.type == "leave":
            self._remove(client, data.subscriptionId)
        elif frame.type == "join" and data.subscriptionId is not None:
            await self._join(client, data.streamName, data.groupId, data.id or None, data.subscriptionId)

    async def _join(self, client: Client, stream: str, group_id: str, item_id: str | None, sub_id: str) -> None:
        def answer(event: dict[str, Any]) -> None:
            client.push(json.dumps(_message(stream, group_id, item_id, event, self._stamp())))

        definition = self.definitions.get(stream)
        if definition is None:
            answer(_error_event(f"Stream {stream} not found"))
            answer(_error_event("Access denied"))
            return
        if sub_id not in client.subscriptions and len(client.subscriptions) >= MAX_SUBSCRIPTIONS:
            answer(
                _error_event(
                    f"This socket has {MAX_SUBSCRIPTIONS} subscriptions, the most one socket may have: leave one first",
                    TOO_MANY_CODE,
                )
            )
            return
        if not await self._can_access(definition, group_id, item_id):
            answer(_error_event("Access denied"))
            return
        async with self._lock:
            data, seq = await self.store.snapshot(stream, group_id, item_id, definition.sync_limit)
            if not self._rooms:
                self._last = seq  # nothing was tailed while nobody listened: start from here
            if item_id is None or data is not None:
                answer({"type": "sync", "data": data})
            self._remove(client, sub_id)  # a repeated subscription id replaces its subscription, as Motia's rooms do
            self._add(Subscription(client, sub_id, (stream, group_id, item_id), after=seq))

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
