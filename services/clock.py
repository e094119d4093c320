"""Times as the pets carry them: epoch milliseconds, and the spec's way of showing one in a log line.

Their own module because the steps, the stores and the timeline all read the clock, and none of
them should import a store to do it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], int]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, the unit of every time field."""
    return time.time_ns() // 1_000_000


def iso_time(ms: int | float | None) -> str | None:
    """Epoch ms as the spec's log lines show times: `2022-01-02T00:00:00.000Z`."""
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
