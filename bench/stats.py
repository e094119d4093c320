"""Percentiles of latency samples, the same way for every runtime and section."""

from __future__ import annotations

import math
import statistics
from typing import Any


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile: p99 of 50 samples is the largest, of 200 the second largest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, Any]:
    """n, p50, p99 and mean of samples in ms (NaN when there are none)."""
    if not values:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    return {
        "n": len(values),
        "p50_ms": statistics.median(values),
        "p99_ms": quantile(values, 0.99),
        "mean_ms": statistics.fmean(values),
    }
