"""Server-sent events of trace updates, and ending those streams when the server stops.

A browser opens one `EventSource`; it gets a `snapshot` of every trace at once, then a
`trace` event with a trace's new summary whenever that trace changes. Nothing is polled: the
stream waits on the recorder. A comment line every `KEEPALIVE_SECONDS` keeps idle proxies
and the browser from dropping the connection.

uvicorn waits for open responses before it stops, and a stream never ends by itself, so a
server with the page open would hang for the whole grace period on Ctrl-C. `on_exit_signal`
chains a callback in front of uvicorn's own SIGINT/SIGTERM handlers (uvicorn installs them
with `signal.signal` and restores its originals afterwards) that closes the streams first.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

from starlette.responses import StreamingResponse

from steprunner.web.traces import TraceRecorder

KEEPALIVE_SECONDS = 15.0
RECONNECT_MILLISECONDS = 2000


def sse_message(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str, ensure_ascii=False)}\n\n"


async def _updates(recorder: TraceRecorder) -> AsyncIterator[str]:
    subscriber = recorder.subscribe()
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n" + sse_message("snapshot", {"traces": recorder.summaries()})
        while not subscriber.closed:
            await subscriber.wait(KEEPALIVE_SECONDS)
            if subscriber.closed:
                break
            if subscriber.resync:
                subscriber.resync = False
                subscriber.take()
                yield sse_message("snapshot", {"traces": recorder.summaries()})
                continue
            messages = subscriber.take()
            if not messages:
                yield ": keepalive\n\n"
            for message in messages:
                yield sse_message("trace", message)
    finally:
        recorder.unsubscribe(subscriber)


def trace_stream(recorder: TraceRecorder) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_updates(recorder), media_type="text/event-stream", headers=headers)


Restore = Callable[[], None]


def on_exit_signal(callback: Callable[[], None]) -> Restore:
    """Run `callback` on the event loop when SIGINT/SIGTERM arrives, then the handler that was there.

    Returns a function that puts the previous handlers back (if ours are still installed).
    Off the main thread (tests running the app in-process) signals cannot be caught: no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[signal.Signals, tuple[Any, Any]] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(
            signum: int, frame: FrameType | None, previous: Callable[[int, FrameType | None], Any] = previous
        ) -> None:
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, previous)

    def restore() -> None:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return restore
