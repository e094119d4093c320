"""`motia-workbench.json`: node positions per flow, in Motia Workbench's own format.

    [{"id": "pets", "config": {"steps/create_pet_step.py": {"x": 0, "y": 0}, ...}}, ...]

Both tools read and write the same file, so a layout made in one shows in the other. Saving
changes only the `x`/`y` of the one node that moved: other flows, other nodes and any other
keys Motia keeps there (handle positions, say) are left as they were. The write is atomic
(steprunner.durable_file) and serialised by a file lock, so two browser tabs or two server
workers never interleave a half-written file. A file that does not parse is an error naming
it, never silently replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from steprunner.durable_file import replace_durably

WORKBENCH_FILE = "motia-workbench.json"


class WorkbenchFileError(Exception):
    """motia-workbench.json exists but is not what Motia writes; the message names the file (not its
    absolute path: the message goes into HTTP answers)."""


def _number(value: float) -> float | int:
    """120.0 -> 120, as Motia's JSON.stringify writes it; otherwise two decimals are plenty for pixels."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def read_workbench(path: Path) -> list[dict[str, Any]]:
    """Every flow entry of the file; [] if it does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        data = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise WorkbenchFileError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in data):
        raise WorkbenchFileError(
            f'{path.name}: expected a list of {{"id": flow, "config": {{step file: {{"x", "y"}}}}}}'
        )
    return data


def saved_positions(path: Path, flow: str) -> dict[str, tuple[float, float]]:
    """Step file -> (x, y) for one flow; entries without numeric x and y are ignored."""
    positions: dict[str, tuple[float, float]] = {}
    for entry in read_workbench(path):
        if entry["id"] != flow or not isinstance(entry.get("config"), dict):
            continue
        for file, spot in entry["config"].items():
            if isinstance(spot, dict) and all(
                isinstance(spot.get(k), (int, float)) and not isinstance(spot.get(k), bool) for k in ("x", "y")
            ):
                positions[file] = (float(spot["x"]), float(spot["y"]))
    return positions


def save_position(path: Path, lock_path: Path, flow: str, step_file: str, x: float, y: float) -> dict[str, float | int]:
    """Record where one node of one flow now is; returns the stored `{"x", "y"}`."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path), timeout=10):
        data = read_workbench(path)
        entry = next((e for e in data if e["id"] == flow), None)
        if entry is None:
            entry = {"id": flow, "config": {}}
            data.append(entry)
        if not isinstance(entry.get("config"), dict):
            entry["config"] = {}
        spot = entry["config"].get(step_file)
        spot = dict(spot) if isinstance(spot, dict) else {}
        spot.update(x=_number(x), y=_number(y))
        entry["config"][step_file] = spot
        os.close(replace_durably(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()))
    return {"x": spot["x"], "y": spot["y"]}
