"""Log lines for people and for machines.

Text (default): `12:00:00.123 INFO  CreatePet      3f2a9c1e 🐾 Pet created {"petId": "1"}`.
`LOG_FORMAT=json`: one JSON object per line with time, level, step, traceId, message, fields.
Every line also goes to any registered listener (the trace view uses that).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}
Listener = Callable[[dict[str, Any]], None]

_listeners: list[Listener] = []
_COLOURS = {"debug": "\x1b[2m", "info": "\x1b[36m", "warn": "\x1b[33m", "error": "\x1b[31m"}


def add_listener(listener: Listener) -> None:
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _config() -> tuple[str, int, bool]:
    fmt = (os.environ.get("LOG_FORMAT") or "text").lower()
    level = LEVELS.get((os.environ.get("LOG_LEVEL") or "info").lower(), 20)
    colour = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return fmt, level, colour


_FORMAT, _LEVEL, _COLOUR = _config()


def reconfigure() -> None:
    """Re-read LOG_FORMAT / LOG_LEVEL (after `.env` has been loaded)."""
    global _FORMAT, _LEVEL, _COLOUR
    _FORMAT, _LEVEL, _COLOUR = _config()


_second: tuple[int, str] = (-1, "")


def _clock(t: float) -> str:
    """`HH:MM:SS.mmm` in local time; the seconds are formatted once per second."""
    global _second
    whole = int(t)
    if _second[0] != whole:
        _second = (whole, time.strftime("%H:%M:%S", time.localtime(whole)))
    return f"{_second[1]}.{int((t - whole) * 1000):03d}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def emit_line(level: str, step: str, trace_id: str | None, message: str, fields: dict[str, Any] | None = None) -> None:
    now = time.time()
    record = {
        "time": now,
        "level": level,
        "step": step,
        "traceId": trace_id,
        "message": message,
        "fields": fields or {},
    }
    for listener in _listeners:
        listener(record)
    if LEVELS[level] < _LEVEL:
        return
    if _FORMAT == "json":
        line = _dumps({**record, "time": datetime.fromtimestamp(now).isoformat(timespec="milliseconds")})
    else:
        stamp = _clock(now)
        tag = level.upper().ljust(5)
        if _COLOUR:
            tag = f"{_COLOURS[level]}{tag}\x1b[0m"
        line = f"{stamp} {tag} {step:<24} {(trace_id or '-')[:8]:<8} {message}"
        shown = {k: v for k, v in (fields or {}).items() if k != "traceback"}
        if shown:
            line += " " + _dumps(shown)
        if fields and fields.get("traceback"):
            line += "\n" + "\n".join("    " + t for t in str(fields["traceback"]).rstrip().splitlines())
    sys.stdout.write(line + "\n")
    sys.stdout.flush()  # a line is out before the answer it explains: tests and operators rely on it


def motia_fields(args: Any) -> dict[str, Any] | None:
    """A logger call's second argument as Motia 0.17's Python logger takes it (`motia_logger.py`).

    Falsy means none; an object is logged by its attributes (`vars`); any other non-dict value
    -- a string, a list, a number -- becomes `{"data": value}`. A step that logs `("saved", pet_id)`
    under Motia must not crash here.
    """
    if not args:
        return None
    if isinstance(args, dict):
        return args
    if hasattr(args, "__dict__"):
        return dict(vars(args))
    return {"data": args}


class Logger:
    """`context.logger`: Motia's `info|warn|error|debug(message, fields)`, bound to a step and trace."""

    def __init__(self, step: str, trace_id: str | None) -> None:
        self.step = step
        self.trace_id = trace_id

    def debug(self, message: str, fields: Any = None) -> None:
        emit_line("debug", self.step, self.trace_id, message, motia_fields(fields))

    def info(self, message: str, fields: Any = None) -> None:
        emit_line("info", self.step, self.trace_id, message, motia_fields(fields))

    def warn(self, message: str, fields: Any = None) -> None:
        emit_line("warn", self.step, self.trace_id, message, motia_fields(fields))

    warning = warn

    def error(self, message: str, fields: Any = None) -> None:
        emit_line("error", self.step, self.trace_id, message, motia_fields(fields))


runtime_log = Logger("steprunner", None)
