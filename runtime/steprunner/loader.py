"""Find, import and check every `*_step.py` under `steps/` and `src/` (as Motia 0.17 does).

Start-up stops on a problem with a message naming the file; what Motia only skips is skipped with
a log line unless strict mode is on. The rules, and the `explains_itself` protocol for errors that
need no traceback: runtime/docs/steps.md.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steprunner.discovery import STEP_FOLDERS, Kind, Skipped, project_files, skipped_files
from steprunner.log import runtime_log
from steprunner.settings import strict_from_env
from steprunner.step_config import (
    ApiConfig,
    CronConfig,
    EventConfig,
    NoopConfig,
    StepConfigError,
    parse_config,
    topic_of,
)


class StepLoadError(Exception):
    """Start-up cannot go on; the message says which file and why."""


@dataclass(frozen=True)
class Step:
    file: str  # path from the project root, as Motia's workbench keys it
    config: ApiConfig | EventConfig | CronConfig | NoopConfig
    handler: Callable[..., Any] | None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def type(self) -> str:
        return self.config.type

    @property
    def emits(self) -> set[str]:
        return self.config.emit_topics()

    @property
    def flows(self) -> list[str]:
        return list(self.config.flows or [])


def discover(root: Path, strict: bool = False) -> list[Path]:
    """Every `*_step.py` under `steps/` and `src/`, in a stable order.

    `*.step.py` is the naming Motia dropped: Motia prints a warning and skips such files, and so does
    `load_steps`; strict mode refuses the project instead (StepLoadError here).
    """
    if not any((root / name).is_dir() for name in STEP_FOLDERS):
        raise StepLoadError(f"no steps/ or src/ folder under {root}")
    if strict:
        for old in project_files(root, "*.step.py"):
            rel = old.relative_to(root).as_posix()
            raise StepLoadError(
                f"{rel}: `*.step.py` is the old naming; rename it to `{rel[: -len('.step.py')]}_step.py`"
            )
    return project_files(root, "*_step.py")


def explains_itself(exc: BaseException) -> bool:
    """Whether `exc`'s class says its message needs no traceback (runtime/docs/steps.md)."""
    return getattr(type(exc), "explains_itself", False) is True


def _motia_package(path: Path, root: Path) -> str | None:
    """The `__package__` Motia's runner gives a step (`<project>.steps.sub`), so that relative
    imports (`from .helpers import x`) work as under Motia; None when a part is no identifier."""
    parts = path.relative_to(root.parent).parent.parts
    return ".".join(parts) if all(p.isidentifier() for p in parts) else None


def import_file(path: Path, rel: str, root: Path | None = None) -> Any:
    """Import one project file (a step or a stream) under a name of its own; StepLoadError names it when it fails."""
    module_name = "steps_" + re.sub(r"\W", "_", rel[:-3])
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    package = _motia_package(path, root) if root is not None else None
    if package:
        module.__package__ = package
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - any failure to import stops start-up
        sys.modules.pop(module_name, None)
        if explains_itself(exc):
            raise StepLoadError(f"{rel}: {exc}") from None
        tb = "".join(traceback.format_exception(exc))
        raise StepLoadError(f"{rel}: failed to import\n{tb}") from None
    return module


def load_step(path: Path, root: Path) -> Step:
    rel = path.relative_to(root).as_posix()
    module = import_file(path, rel, root)
    if not hasattr(module, "config"):
        raise StepLoadError(f"{rel}: no `config` defined")
    try:
        config = parse_config(module.config, rel)
    except StepConfigError as exc:
        raise StepLoadError(str(exc)) from exc  # the cause tells `load_steps` lax mode may skip it
    handler = getattr(module, "handler", None)
    if config.type != "noop":
        if handler is None:
            raise StepLoadError(f"{rel}: no `handler` defined")
        if not inspect.iscoroutinefunction(handler):
            raise StepLoadError(f"{rel}: `handler` must be `async def`")
    return Step(file=rel, config=config, handler=handler)


def route_key(config: ApiConfig) -> tuple[str, str]:
    """Routes equal up to parameter names collide: `/pets/:id` and `/pets/:petId` are one route."""
    return config.method, re.sub(r":\w+", ":", config.path.rstrip("/") or "/")


def _skippable(exc: StepLoadError, step_file: str) -> bool:
    """Whether Motia 0.17 would skip this step and go on: its config is refused, or missing."""
    return isinstance(exc.__cause__, StepConfigError) or str(exc) == f"{step_file}: no `config` defined"


@dataclass(frozen=True)
class Project:
    """What `load_project` found: the steps that run, and the files skipped, each with why."""

    steps: list[Step]
    skipped: list[Skipped]


def load_steps(root: Path, strict: bool | None = None) -> list[Step]:
    """Load every step, logging each file skipped (`log_skipped`); `strict` (default: `STEPRUNNER_STRICT`)
    stops on what lax mode skips."""
    project = load_project(root, strict)
    log_skipped(project.skipped)
    return project.steps


def load_project(root: Path, strict: bool | None = None) -> Project:
    """Load every step and list every file skipped (`steprunner steps` shows them); logs nothing."""
    strict = strict_from_env() if strict is None else strict
    root = root.resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # steps import `services.*` from the project root, as under Motia
    if str(root.parent) not in sys.path:
        sys.path.append(str(root.parent))  # Motia's runner puts it first; last here, so it shadows nothing
    paths = discover(root, strict)
    steps: list[Step] = []
    skipped = skipped_files(root)
    names: dict[str, str] = {}
    routes: dict[tuple[str, str], str] = {}
    for path in paths:
        try:
            step = load_step(path, root)
        except StepLoadError as exc:
            rel = path.relative_to(root).as_posix()
            if strict or not _skippable(exc, rel):
                raise
            problems = tuple(line.removeprefix(f"{rel}: ") for line in str(exc).splitlines())
            why = (
                "no `config`: Motia 0.17 skips it too"
                if problems == ("no `config` defined",)
                else ("config refused, as Motia 0.17 refuses it: " + "; ".join(problems))
            )
            skipped.append(Skipped(rel, Kind.INVALID_CONFIG, why, problems))
            continue
        if step.name in names:
            raise StepLoadError(
                f"{step.file}: config.name: step name {step.name!r} is already used by {names[step.name]}"
            )
        names[step.name] = step.file
        if isinstance(step.config, ApiConfig):
            key = route_key(step.config)
            if key in routes:
                raise StepLoadError(
                    f"{step.file}: config.path: route {step.config.method} {step.config.path} "
                    f"is already defined by {routes[key]}"
                )
            routes[key] = step.file
        steps.append(step)
    order = {path: i for i, path in enumerate(project_files(root, "*"))}
    skipped.sort(key=lambda s: order.get(root / s.file, len(order)))
    return Project(steps, skipped)


LISTED = 3  # files named in the one line about files in other languages; `steprunner steps` lists them all


def log_skipped(skipped: list[Skipped]) -> None:
    """A line per skipped Python file (WARN for an old name, ERROR per refused key), one for all the others."""
    others = []
    for s in skipped:
        if s.kind == Kind.OLD_STEP_NAME:
            new = s.file[: -len(".step.py")] + "_step.py"
            runtime_log.warn(
                f"skipped {s.file}: `*.step.py` is the old naming; rename it to `{new}` (Motia 0.17 skips it too)"
            )
        elif s.kind == Kind.OLD_STREAM_NAME:
            runtime_log.warn(f"skipped {s.file}: {s.why}")
        elif s.kind == Kind.INVALID_CONFIG:
            for problem in s.problems:
                runtime_log.error(f"skipped step {s.file}: {problem} (strict mode would stop here)")
        else:
            others.append(s.file)
    if others:
        named = ", ".join(others[:LISTED]) + (f" and {len(others) - LISTED} more" if len(others) > LISTED else "")
        runtime_log.info(
            f"skipped {len(others)} file{'s' * (len(others) != 1)} in other languages ({named}): "
            "steprunner runs Python steps only; `steprunner steps` says why for each"
        )


def describe(step: Step) -> str:
    """What matters about a step in one line: its route, subscriptions, schedule or actor."""
    c = step.config
    if isinstance(c, ApiConfig):
        return f"{c.method} {c.path}"
    if isinstance(c, EventConfig):
        return "on " + ", ".join(c.subscribes)
    if isinstance(c, CronConfig):
        return f"cron {c.cron}"
    return (
        "noop " + ", ".join(c.virtualSubscribes or []) + " -> " + ", ".join(topic_of(e) for e in c.virtualEmits or [])
    )
