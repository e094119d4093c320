"""`context.streams.<name>`: what a handler sees of Motia Streams, the same methods and shapes as Motia's.

A write checks the item against the stream's schema, stores it and wakes the hub
(steprunner.streams.hub), which pushes the change to subscribed clients: runtime/docs/streams.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from steprunner.schemas import problems
from steprunner.settings import Faults
from steprunner.step_types import StreamChannel, StreamEvent
from steprunner.streams.config import StreamDef
from steprunner.streams.store import StreamStore

ITEM_META_KEYS = ("id", "_createdAt", "__motia")


class StreamItemError(ValueError):
    """`set` was given data that is not an object, or does not match the stream's schema."""


def now_ms() -> int:
    return int(time.time() * 1000)


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

    async def send(self, channel: StreamChannel, event: StreamEvent) -> None:
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
