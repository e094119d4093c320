"""Reading server-sent events (the trace view's live feed, `/__steprunner/trace-stream`) with a deadline.

The runtime's own tests and a project's web tests both follow that feed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any


def sse_events(lines: Iterator[str], until: Callable[[str, Any], bool], timeout: float = 10.0) -> list[tuple[str, Any]]:
    """Read server-sent events from a stream's lines until `until(event, data)` holds; fail at the deadline."""
    events: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            events.append((event, json.loads(line[6:])))
            if until(event, events[-1][1]):
                return events
        assert time.monotonic() < deadline, f"no matching event within {timeout}s; got {events}"
    raise AssertionError(f"stream ended without a matching event; got {events}")
