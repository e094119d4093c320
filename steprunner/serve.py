"""Serving the app with uvicorn: its limits, and a deadline for a request's headers.

uvicorn 0.54 closes an idle connection only after a response (`timeout_keep_alive`). A
connection that never completes a request head -- opened and left idle, or trickling a byte
at a time -- stays open for ever, holding a file descriptor and counting toward
`limit_concurrency`; about a thousand of them locked every client out. `HeaderDeadlineProtocol`
closes a connection whose request headers have not all arrived within
`STEPRUNNER_HEADER_TIMEOUT_SECONDS` of it opening or of its previous response.

The file-descriptor soft limit is raised to the hard limit at start-up, so that the limits
above (and not the descriptor table) decide how many clients are served.
"""

from __future__ import annotations

import asyncio
import os
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from steprunner.settings import Settings

HEADER_TIMEOUT_VARIABLE = "STEPRUNNER_HEADER_TIMEOUT_SECONDS"
PROTOCOL = "steprunner.serve:HeaderDeadlineProtocol"  # by name: `--workers` processes import it themselves


def _header_timeout() -> float:
    raw = os.environ.get(HEADER_TIMEOUT_VARIABLE)
    return float(raw) if raw else Settings.header_timeout_seconds


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: close the connection if a request head takes too long."""

    header_timeout = _header_timeout()  # read once, when uvicorn imports the class

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

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
        ws="websockets-sansio",  # Motia Streams (steprunner.streams); the sans-I/O one, not websockets' legacy API
        ws_max_size=1024 * 1024,  # join/leave messages are tiny
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.limit_concurrency,
    )
