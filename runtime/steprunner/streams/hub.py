"""Motia Streams: `*_stream.py` configs, `context.streams.<name>`, and Motia's WebSocket protocol.

What Motia 0.17.6-beta.187 does, and steprunner copies (MotiaDev/motia at that tag):

- Discovery: every `*_stream.py` under `steps/` and `src/` (Motia's `getStreamFiles`). The file exports `config = {"name", "schema",
  "baseConfig": {"storageType": "default"}, "canAccess"?}`. Motia does not check these keys;
  steprunner needs a `name`, a JSON Schema (or none) and the default storage (`custom` storage
  takes a JavaScript factory), and checks the schema itself at start-up.
- `context.streams.<name>` (also `context.streams["<name>"]`: Motia's is a dict with attribute
  access) has `get(group_id, id)`, `set(group_id, id, data)`, `delete(group_id, id)`,
  `getGroup(group_id)` (alias `get_group`) and `send(channel, event)`. An item is the data plus
  `id` and `_createdAt` (epoch ms, what `motia dev`'s Redis adapter adds; reset by each `set`
  unless the data carries it), and what the Python API returns also carries
  `__motia: {"type": "state-stream", streamName, groupId, id}`. `getGroup` is ordered by
  `_createdAt`. `get`/`delete` of a missing item return None; `send` returns None.
- The WebSocket: on the server's own port, any path (Motia's `ws` server takes every upgrade).
  A client sends `{"type": "join"|"leave", "data": {streamName, groupId, id?, subscriptionId}}`.
  On join the server answers `{timestamp, streamName, groupId, id?, event: {type: "sync", data}}`
  (the group's items, or the one item -- nothing for a missing item), then pushes every change
  of that group (or item) as `event: {type: "create"|"update"|"delete", data: item}` and every
  `send` as `event: {type: "event", event: {type, data}}`; one copy per subscription, as Motia's
  rooms do. A refused join gets `event: {type: "event", event: {type: "error", data: {code:
  "STREAM_ACCESS_DENIED", message}}}` (an unknown stream: a "Stream X not found" error first).
- `canAccess(subscription, auth_context)` (sync or async) decides joins; `subscription` is
  `{"groupId", "id"?}`. Motia's `auth_context` comes from `streamAuth.authenticate` in
  motia.config.ts, which steprunner does not run: it is always None here.

What steprunner adds or does differently:

- Items are checked against the stream's schema on `set` (without `id`, `_createdAt`, `__motia`);
  a mismatch raises `StreamItemError` in the handler. Motia stores anything.
- Items are durable (they survive a restart) and shared by every process of the store
  (runtime/steprunner/streams/store.py): DATA_DIR/steprunner.db for the processes of one machine, or
  PostgreSQL for every node when DATABASE_URL is set. Every write also appends a change (an
  increasing `seq`) to the store's change log in the same transaction. Each process tails that
  log while it has subscribers -- at once after a write of its own or a NOTIFY from another node,
  else every `poll_seconds` -- and pushes what it finds to its clients. Local and remote changes
  take the same path, so every client sees one order. A join reads the sync data and the highest
  `seq` in one snapshot, and the new subscription gets only changes after it: nothing is missed
  or sent twice. Changes older than `KEEP_SECONDS` are pruned.
- Timestamps are epoch ms, made strictly increasing per process: Motia's clients drop an item
  message whose timestamp is not above the last one they saw, which loses the second of two
  writes in one millisecond under Motia.
- A `delete` of a missing item pushes nothing (Motia pushes `data: null`, which makes its own
  group client throw). An item room is (stream, group, id); Motia's is (stream, id), which sends
  clients other groups' items for their client library to drop.
- Guards: the Host header passes the runtime's allow-list (`HostAllowList` also sees WebSocket
  scopes); an `Origin` header, which browsers send, must name an allowed host too (a page
  elsewhere cannot read the streams of a server on 127.0.0.1). With `STAFF_API_KEY` set a client
  must send the key: `Authorization: Bearer <key>`, `?authToken=<key>` in the URL, or the
  subprotocols `Authorization, <key>` (the two forms Motia's examples use, for clients that
  cannot set headers); otherwise 401 before the upgrade, as Motia answers a failed authenticate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from steprunner.loader import StepLoadError, _import
from steprunner.log import runtime_log
from steprunner.schemas import InvalidSchema, Validator, compile_schema, problems
from steprunner.settings import Faults
from steprunner.streams.store import KEEP_SECONDS, Change, StreamStore

PRUNE_EVERY_SECONDS = 30.0
MAX_QUEUED_MESSAGES = 1000  # a client this far behind is disconnected rather than buffered for ever
ACCESS_DENIED_CODE = "STREAM_ACCESS_DENIED"
ITEM_META_KEYS = ("id", "_createdAt", "__motia")


class StreamItemError(ValueError):
    """`set` was given data that is not an object, or does not match the stream's schema."""


@dataclass(frozen=True)
class StreamDef:
    """One `*_stream.py`: its name, schema and optional `canAccess`."""

    file: str
    name: str
    schema: dict[str, Any] | None
    can_access: Callable[..., Any] | None = None
    validator: Validator | None = field(default=None, compare=False, repr=False)


# --- discovery ----------------------------------------------------------------------------------


def discover_streams(root: Path) -> list[Path]:
    """Every `*_stream.py` under `steps/` and `src/`, in a stable order (Motia's `**/*_stream.py`)."""
    found: list[Path] = []
    for name in ("steps", "src"):
        if (root / name).is_dir():
            found += sorted(p for p in (root / name).rglob("*_stream.py") if "__pycache__" not in p.parts)
    return found


def parse_stream(config: Any, rel: str) -> StreamDef:
    """Check a stream's `config`; StepLoadError names the file and the key."""
    if not isinstance(config, dict):
        raise StepLoadError(f"{rel}: `config` must be a dict")
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise StepLoadError(f"{rel}: config.name: a stream needs a non-empty string name")
    base = config.get("baseConfig")
    if not isinstance(base, dict) or base.get("storageType") != "default":
        raise StepLoadError(
            f"{rel}: config.baseConfig must be {{'storageType': 'default'}} (custom storage needs a JavaScript factory)"
        )
    schema = config.get("schema")
    validator = None
    if schema is not None:
        if not isinstance(schema, dict):
            raise StepLoadError(f"{rel}: config.schema must be a JSON Schema object (a dict)")
        try:
            validator = compile_schema(schema)
        except InvalidSchema as exc:
            raise StepLoadError(f"{rel}: config.schema is not a valid JSON Schema: {exc}") from None
    can_access = config.get("canAccess")
    if can_access is not None and not callable(can_access):
        raise StepLoadError(f"{rel}: config.canAccess must be a function (subscription, auth_context) -> bool")
    return StreamDef(file=rel, name=name, schema=schema, can_access=can_access, validator=validator)


def load_streams(root: Path) -> list[StreamDef]:
    """Import and check every stream config; start-up stops on a bad one or a duplicate name."""
    root = root.resolve()
    streams: dict[str, StreamDef] = {}
    for path in discover_streams(root):
        rel = path.relative_to(root).as_posix()
        module = _import(path, rel)
        if not hasattr(module, "config"):
            raise StepLoadError(f"{rel}: no `config` defined")
        stream = parse_stream(module.config, rel)
        if stream.name in streams:
            raise StepLoadError(
                f"{rel}: config.name: stream name {stream.name!r} is already used by {streams[stream.name].file}"
            )
        streams[stream.name] = stream
    return list(streams.values())


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the handler API: context.streams.<name> ------------------------------------------------------


def _wrap(stream: str, group_id: str, item_id: str, item: dict[str, Any] | None) -> dict[str, Any] | None:
    """What Motia's Python API returns: the item plus `__motia`."""
    if item is None:
        return None
    return {**item, "__motia": {"type": "state-stream", "streamName": stream, "groupId": group_id, "id": item_id}}


class Stream:
    """`context.streams.<name>`: the same methods and return shapes as Motia's `RpcStreamManager`."""

    def __init__(
        self, definition: StreamDef, store: StreamStore, changed: Callable[[], None], faults: Faults | None = None
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self._store = store
        self._changed = changed
        self._fault = f"stream:{self.name}"
        self._faults = faults if faults is not None and self._fault in faults.topics else None  # test-only, see Faults

    async def get(self, group_id: str, id: str) -> dict[str, Any] | None:
        item = await self._store.get(self.name, group_id, id)
        return _wrap(self.name, group_id, id, item)

    async def set(self, group_id: str, id: str, data: Any) -> dict[str, Any] | None:
        if data is None:
            return None  # Motia: `if (!data) return null`
        if not isinstance(data, dict):
            raise StreamItemError(
                f"stream {self.name!r}: an item must be an object (a dict), got {type(data).__name__}"
            )
        fields = {k: v for k, v in data.items() if k not in ITEM_META_KEYS}
        if self.definition.validator is not None:
            wrong = problems(self.definition.validator, fields)
            if wrong:
                raise StreamItemError(
                    f"stream {self.name!r}: item {group_id}/{id} does not match the stream's schema: {'; '.join(wrong)}"
                )
        item = {**fields, "id": id, "_createdAt": data.get("_createdAt") or now_ms()}
        if self._faults is not None:
            self._faults.inject(
                self._fault
            )  # test-only (STEPRUNNER_FAULT=kill:stream:<name>): fail or die before the write
        await self._store.set(self.name, group_id, id, item)
        self._changed()
        return _wrap(self.name, group_id, id, item)

    async def delete(self, group_id: str, id: str) -> dict[str, Any] | None:
        item = await self._store.delete(self.name, group_id, id)
        if item is not None:
            self._changed()
        return _wrap(self.name, group_id, id, item)

    async def getGroup(self, group_id: str) -> list[dict[str, Any]]:  # noqa: N802 - Motia's name
        items = await self._store.group(self.name, group_id)
        return [w for w in (_wrap(self.name, group_id, i["id"], i) for i in items) if w is not None]

    async def get_group(self, group_id: str) -> list[dict[str, Any]]:
        return await self.getGroup(group_id)

    async def send(self, channel: dict[str, Any], event: dict[str, Any]) -> None:
        """Push `event` ({type, data}) to the clients of `channel` ({groupId, id?}); nothing is stored."""
        if not isinstance(channel, dict) or not isinstance(channel.get("groupId"), str):
            raise TypeError(
                f"stream {self.name!r}: send takes a channel {{'groupId': str, 'id'?: str}}, got {channel!r}"
            )
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise TypeError(f"stream {self.name!r}: send takes an event {{'type': str, 'data': ...}}, got {event!r}")
        item_id = channel.get("id")
        body = {"type": event["type"], "data": event.get("data")}
        await self._store.send(self.name, channel["groupId"], item_id if isinstance(item_id, str) else None, body)
        self._changed()


class StreamsNamespace(dict[str, Stream]):
    """`context.streams`: a dict of streams by name that also answers `context.streams.<name>` (Motia's DotDict)."""

    def __getattr__(self, name: str) -> Stream:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no stream named {name!r} (streams: {sorted(self)})") from None


# --- the WebSocket side ---------------------------------------------------------------------------


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
        self.staff_key = staff_key.encode() if staff_key else None
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
                "A staff key is required: send `Authorization: Bearer <key>`, `?authToken=<key>` or the subprotocols `Authorization, <key>`",
            )
        if not hmac.compare_digest(sent.encode(), self.staff_key):
            return 401, "Wrong staff key"
        return None

    @staticmethod
    def _sent_key(websocket: WebSocket) -> str | None:
        header = websocket.headers.get("authorization")
        if header:
            scheme, _, token = header.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
        tokens = parse_qs(websocket.url.query).get("authToken")
        if tokens:
            return tokens[0]
        protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
        if len(protocols) >= 2 and protocols[0] == "Authorization":
            return protocols[1]
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
