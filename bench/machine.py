"""The machine a run was measured on, recorded with its numbers (they mean little without it)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _first(path: str, prefix: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def command_version(cmd: list[str]) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def _motia_version() -> str | None:
    try:
        return str(json.loads((REPO / "node_modules" / "motia" / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def load_average() -> float:
    """1-minute load average: above ~0.5 before a run, something else was using the cores."""
    return os.getloadavg()[0]


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields), idle


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over the next `seconds` (0..1), whoever uses them.

    Taken just before a section starts, while nothing of ours runs: anything well above 0
    is other work on the machine, which the section's numbers then share the cores with.
    """
    total0, idle0 = _cpu_times()
    time.sleep(seconds)  # a measurement window, not a wait for something to happen
    total1, idle1 = _cpu_times()
    return 0.0 if total1 == total0 else 1 - (idle1 - idle0) / (total1 - total0)


class OtherWork:
    """How much of the machine other processes used while a section ran (0..1 of all cores).

    All busy CPU time (/proc/stat) minus this run's own: this process and every child it has
    reaped (servers, wrk, and what they started). Loopback networking done in interrupts is
    counted as other work, so an idle machine reads a few percent, not zero.
    """

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        total, idle = _cpu_times()
        t = os.times()
        own_ticks = (t.user + t.system + t.children_user + t.children_system) * os.sysconf("SC_CLK_TCK")
        return float(total), float(total - idle), own_ticks

    def share(self) -> float:
        total0, busy0, own0 = self._start
        total1, busy1, own1 = self._sample()
        if total1 <= total0:
            return 0.0
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (total1 - total0))


def describe() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal")
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "memory_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1) if mem_kb else None,
        "python": platform.python_version(),
        "python_impl": sys.implementation.name,
        "os": platform.platform(),
        "node": command_version(["node", "--version"]),
        "motia": _motia_version(),
        "wrk": command_version(["wrk", "--version"]),
        "commit": command_version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "load_average_before": load_average(),
        "cpu_busy_before": cpu_busy(),
    }
