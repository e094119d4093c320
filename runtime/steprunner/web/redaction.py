"""What the trace view hides from anyone but this machine: tracebacks, and this machine's absolute paths.

A server bound to loopback shows its traces whole: the person reading them is on this machine.
Bound to any other address, it answers them through a `Redaction` (runtime/steprunner/web/app.py). In database
mode every node also shares its records through one (runtime/steprunner/web/trace_share.py), whatever it is
bound to: what reaches the database, and other machines, is what the network would see.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


class Redaction:
    """`redaction(value)`: `value` with every `traceback` field dropped and known absolute paths replaced."""

    def __init__(self, root: Path, data_dir: Path) -> None:
        # absolute paths a log line may carry, longest first, and what is shown instead
        self._paths = sorted(
            {
                (str(root), "<project>"),
                (str(data_dir), "<DATA_DIR>"),
                (sys.prefix, "<python>"),
                (sys.base_prefix, "<python>"),
            },
            key=lambda r: -len(r[0]),
        )

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items() if k != "traceback"}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            for path, placeholder in self._paths:
                value = value.replace(path, placeholder)
        return value
