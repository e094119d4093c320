"""Serving the app with uvicorn: its limits, and a deadline for a request's headers.

uvicorn leaves a connection that never completes a request head open for ever, so
`HeaderDeadlineProtocol` closes it after `STEPRUNNER_HEADER_TIMEOUT_SECONDS` and refuses a head
past `MAX_HEAD_BYTES` (431). Why, and the descriptor limit: runtime/docs/web.md.
"""

from __future__ import annotations

import asyncio
import os
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from steprunner.http.ws_protocol import PROTOCOL as WS_PROTOCOL
from steprunner.settings import Settings

HEADER_TIMEOUT_VARIABLE = "STEPRUNNER_HEADER_TIMEOUT_SECONDS"
MAX_HEAD_BYTES = 64 * 1024  # request line and headers
HEAD_TOO_LARGE = b'{"message": "Request line and headers are larger than 65536 bytes"}'
PROTOCOL = "steprunner.http.serve:HeaderDeadlineProtocol"  # by name: `--workers` processes import it themselves


def _header_timeout() -> float:
    raw = os.environ.get(HEADER_TIMEOUT_VARIABLE)
    return float(raw) if raw else Settings.header_timeout_seconds


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: close the connection if a request head takes too long."""

    header_timeout = _header_timeout()  # read once, when uvicorn imports the class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._head_bytes: int | None = None  # bytes received towards the next request head; None once it is complete

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)
        self._head_bytes = 0

    def _disarm_header_deadline(self) -> None:
        self._head_bytes = None
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_bytes is None or self.transport.is_closing():
            return
        self._head_bytes += len(
            data
        )  # counted after parsing: a chunk that completes the head (and carries a body) is fine
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse_head()

    def _refuse_head(self) -> None:
        """431, then end our side (FIN) so the client reads the answer; the socket closes a little later.

        Closing at once, with the rest of the head unread, would send a reset that can destroy the
        answer before the client reads it."""
        self._disarm_header_deadline()
        self.transport.pause_reading()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(HEAD_TOO_LARGE), HEAD_TOO_LARGE)
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.header_timeout, self.transport.close)

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        idle = self.cycle is None or self.cycle.response_complete  # no request of this connection is running
        if idle and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_deadline()  # the next request on this keep-alive connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)


def raise_open_file_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit (the default soft limit is often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass  # not allowed here: keep what we have


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `cmd_dev` hands uvicorn besides the app, host and port."""
    return dict(
        loop="uvloop",
        http=PROTOCOL,
        ws=WS_PROTOCOL,  # Motia Streams (steprunner.streams.hub): uvicorn's sans-I/O one, aborting undrained sockets
        ws_max_size=1024 * 1024,  # join/leave messages are tiny
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        timeout_keep_alive=settings.keep_alive_seconds,
        # not uvicorn's: it counts every open connection, WebSockets and half-sent heads too, and answers
        # HTTP 503 past it; steprunner.http.admission bounds requests and WebSockets apart
        limit_concurrency=None,
    )
