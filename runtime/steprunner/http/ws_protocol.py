"""The WebSocket protocol the server runs: uvicorn's sans-I/O one, which never leaves a socket open on a peer
that stopped reading.

uvicorn ends a connection with `transport.close()`, which first sends what is buffered: on a peer that
does not read (a ping timeout, a stream client dropped for being too far behind, a close handshake
never answered) it waits for ever, and the socket and its buffers stay. This protocol aborts the
transport instead in those cases. Why: runtime/docs/streams.md ("Bounds").
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

PROTOCOL = "steprunner.http.ws_protocol:AbortingWebSocketProtocol"  # by name, as uvicorn's `ws` option takes it


class AbortingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, plus: abort (not close) a transport the peer does not drain."""

    async def send(self, message: Any) -> None:
        if (
            message.get("type") == "websocket.close"
            and self.handshake_complete
            and not self.writable.is_set()
            and not self.transport.is_closing()
        ):
            # The peer has not read what is already buffered: a close frame would queue behind it for ever.
            self.queue.put_nowait({"type": "websocket.disconnect", "code": message.get("code", 1000)})
            self.close_sent = True
            self.transport.abort()
            return
        await super().send(message)
        if message.get("type") == "websocket.close" and self.close_timer is not None:
            # The close handshake gets its `close_timeout`; past it, nothing more is sent.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self.transport.abort()  # super() wrote the close frame and called close(), which waits on the peer
