"""Waiting on a condition with a deadline: the one way tests synchronise with background work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, message: str = "condition", interval: float = 0.02
) -> T:
    """Call `predicate` until it returns something truthy and return that; fail the test at the deadline.

    Exceptions from the predicate count as "not yet" (a server still starting refuses connections),
    and the last one is shown if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - reported below if it never clears
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)
