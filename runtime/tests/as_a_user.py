"""steprunner as a user has it: a copy of runtime/ without what earlier builds and runs left in it, and a
shell environment with nothing of this checkout or its venv in it (test_install.py, test_example_project.py).

A stale build/ would slip into a wheel files its package data no longer names, and hide a broken package; an
example's .venv or .data from a reader's earlier try would make a pasted block find what it should make.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parents[1]
CHECKOUT = RUNTIME_DIR.parent
LEFT_BY_EARLIER_RUNS = {"build", "tests", ".pytest_cache"}  # at runtime/'s top; *.egg-info and __pycache__ anywhere
LEFT_IN_A_PROJECT = {".venv", ".data"}  # in an example project, by a reader who tried it


def not_built_from(folder: str, names: list[str]) -> set[str]:
    """What of runtime/ a fresh checkout would not have, or the wheel does not need (the tests)."""
    top = LEFT_BY_EARLIER_RUNS if Path(folder) == RUNTIME_DIR else set()
    return {n for n in names if n in top or n in LEFT_IN_A_PROJECT or n == "__pycache__" or n.endswith(".egg-info")}


def copy_runtime(to: Path) -> Path:
    """runtime/ as a fresh checkout has it, copied to `to`; returns `to`."""
    shutil.copytree(RUNTIME_DIR, to, ignore=not_built_from)
    return to


def user_env(data_dir: Path | None = None) -> dict[str, str]:
    """A shell's environment with nothing of this checkout or its venv in it: no PYTHONPATH, no VIRTUAL_ENV,
    no STEPRUNNER_ settings, no COLUMNS; DATA_DIR when given, else steprunner's default."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "STEPRUNNER_", "DATA_DIR", "COLUMNS", "LINES"))
    }
    env.update({"PYTHONUNBUFFERED": "1", "DATABASE_URL": "", "STEPRUNNER_STRICT": "1"})
    if data_dir is not None:
        env["DATA_DIR"] = str(data_dir)
    return env
