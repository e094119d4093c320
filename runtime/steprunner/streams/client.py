"""One stream socket's sending side: a queue bounded by bytes and one writer task, so a slow client holds up
only itself and costs at most its bound before it is dropped. The bounds: runtime/docs/streams.md."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass

from starlette.websockets import WebSocket

from steprunner.log import runtime_log

MAX_QUEUED_BYTES = 8 * 1024 * 1024  # messages waiting for one client; past this it is dropped, not buffered
TRY_AGAIN_LATER = 1013  # the close code of a dropped client (Motia's client reconnects and joins again)


class Client:
    """One WebSocket: what waits to be sent (by bytes), its subscriptions by id, and whether it was dropped."""

    def __init__(self, websocket: WebSocket, max_queued_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.websocket = websocket
        self.max_queued_bytes = max_queued_bytes
        self.subscriptions: dict[str, Subscription] = {}
        self.queued_bytes = 0
        self.dropped = False
        self._queue: collections.deque[str] = collections.deque()
        self._ready = asyncio.Event()
        self.writer = asyncio.create_task(self._write())
        self._closing: asyncio.Task[None] | None = None

    def push(self, text: str) -> None:
        """Queue one message; a client whose queue would pass its bound is dropped (logged once)."""
        if self.dropped or self.writer.done():
            return
        size = len(text)
        if self.queued_bytes + size > self.max_queued_bytes:
            self.drop("stream client too far behind: disconnecting it", {"queuedBytes": self.queued_bytes})
            return
        self.queued_bytes += size
        self._queue.append(text)
        self._ready.set()

    def drop(self, why: str, fields: dict[str, object], code: int = TRY_AGAIN_LATER) -> None:
        """Stop sending and close the socket. The server's protocol aborts a transport that the peer does not
        drain (steprunner.http.ws_protocol), so a client that never reads does not keep the socket open."""
        if self.dropped:
            return
        self.dropped = True
        runtime_log.warn(why, {**fields, "subscriptions": len(self.subscriptions)})
        self.writer.cancel()
        self._queue.clear()
        self.queued_bytes = 0
        self._closing = asyncio.create_task(self._close_socket(code))

    async def _close_socket(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code)

    async def _write(self) -> None:
        with contextlib.suppress(Exception):  # the socket went away: the reader side cleans up
            while True:
                while not self._queue:
                    self._ready.clear()
                    await self._ready.wait()
                text = self._queue.popleft()
                await self.websocket.send_text(text)
                self.queued_bytes -= len(text)

    async def close(self) -> None:
        self.writer.cancel()
        tasks = [self.writer] if self._closing is None else [self.writer, self._closing]
        await asyncio.gather(*tasks, return_exceptions=True)


Room = tuple[str, str, str | None]  # (stream, group, item id or None for the whole group)


@dataclass(eq=False)  # by identity: a room holds its subscriptions as dict keys
class Subscription:
    """One join of one client: the room it watches, and the last change its sync already held."""

    client: Client
    subscription_id: str
    room: Room
    after: int  # changes up to this seq are already in the sync this subscription got
