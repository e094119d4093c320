"""Which files of a Motia project are its steps and streams, and which of them steprunner skips, with why.

Motia 0.17 loads, under `steps/` and `src/`, `*.step.{ts,js,rb}` and `*_step.{ts,js,py,rb}` as steps and
`*.stream.{ts,js,rb}` and `*_stream.{ts,js,py,rb}` as streams; it warns about `*.step.py` and skips it, and
skips `*.stream.py` without a word (the names its Python steps and streams had before). steprunner runs the
Python ones, `*_step.py` and `*_stream.py`; every other of those names is a `Skipped` file here, so that
`steprunner steps` can name each and say why. The rules, and Motia's source they come from:
runtime/docs/run-a-motia-project.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

STEP_FOLDERS = ("steps", "src")  # Motia's `getStepFiles`: both, `steps/` first

LANGUAGES = {"ts": "TypeScript", "js": "JavaScript", "rb": "Ruby"}
RUNNERS = {"ts": "Node.js runtime", "js": "Node.js runtime", "rb": "Ruby runner"}
OTHER_LANGUAGE = re.compile(r"[._](?P<what>step|stream)\.(?P<ext>ts|js|rb)$")  # Motia's names, bar Python's
UI_OVERRIDE = re.compile(r"\.step\.(tsx|jsx)$")  # Motia's Workbench draws a step's card with it


class Kind(StrEnum):
    """Why a file is skipped; the loader logs each kind at its own level."""

    OLD_STEP_NAME = "old step name"  # `*.step.py`: Motia warns and skips; strict mode refuses
    OLD_STREAM_NAME = "old stream name"  # `*.stream.py`: Motia skips it silently
    OTHER_LANGUAGE = "other language"  # TypeScript, JavaScript or Ruby: Motia runs it, steprunner cannot
    UI_OVERRIDE = "ui override"  # `*.step.tsx`: the Workbench's card for a step
    INVALID_CONFIG = "invalid config"  # a `*_step.py` whose config Motia refuses (the loader finds those)


@dataclass(frozen=True)
class Skipped:
    """A file steprunner does not run: its path from the project root, the kind, and why in a sentence."""

    file: str
    kind: Kind
    why: str
    problems: tuple[str, ...] = ()  # INVALID_CONFIG: one line per refused key, as the loader logs them


def project_files(root: Path, pattern: str) -> list[Path]:
    """The files matching `pattern` under `steps/` then `src/`, each folder's sorted, without `__pycache__`."""
    found: list[Path] = []
    for name in STEP_FOLDERS:
        if (root / name).is_dir():
            found += sorted(p for p in (root / name).rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    return found


def renamed(rel: str, old: str, new: str) -> str:
    return rel[: -len(old)] + new


def classify(rel: str) -> Skipped | None:
    """Why steprunner skips the project file `rel` (a path from the root), or None if it runs it or it is
    no step or stream to Motia either."""
    if rel.endswith(".step.py"):
        new = renamed(rel, ".step.py", "_step.py")
        return Skipped(rel, Kind.OLD_STEP_NAME, f"old *.step.py name: Motia 0.17 skips it too; rename it to {new}")
    if rel.endswith(".stream.py"):
        new = renamed(rel, ".stream.py", "_stream.py")
        why = f"old *.stream.py name: Motia 0.17 skips it too, silently; rename it to {new}"
        return Skipped(rel, Kind.OLD_STREAM_NAME, why)
    other = OTHER_LANGUAGE.search(rel)
    if other:
        language, runner = LANGUAGES[other["ext"]], RUNNERS[other["ext"]]
        if other["what"] == "step":
            why = f"{language} step: it needs Motia's {runner}; steprunner runs Python steps only"
        else:
            why = f"{language} stream: it needs Motia's {runner}; a Python step using it fails at that call"
        return Skipped(rel, Kind.OTHER_LANGUAGE, why)
    if UI_OVERRIDE.search(rel):
        return Skipped(rel, Kind.UI_OVERRIDE, "Workbench card of a step (React): steprunner's flow view draws its own")
    return None


def skipped_files(root: Path) -> list[Skipped]:
    """Every file under `steps/` and `src/` named as a Motia step or stream that steprunner does not run."""
    skipped = []
    for path in project_files(root, "*"):
        found = classify(path.relative_to(root).as_posix())
        if found is not None:
            skipped.append(found)
    return skipped
