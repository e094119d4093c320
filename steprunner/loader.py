"""Find, import and check every `*_step.py` under `steps/`.

Start-up stops on the first problem with a message naming the file: an import error (with its
traceback), a config Motia would refuse, a duplicate step name or an API route defined twice.

The `explains_itself` protocol: an exception whose class has the attribute
`explains_itself = True` carries a message that is the whole story for a person starting
the server (say a store's "pets.json is not valid JSON: fix or remove it", raised while a
step module opens the store at import). Such an import failure is reported as one line,
`<step file>: <message>`, without the traceback. Any other exception keeps its traceback: a
SyntaxError or a bug in a step is worth it.
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

from steprunner.step_config import ApiConfig, CronConfig, EventConfig, NoopConfig, StepConfigError, parse_config, topic_of


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


def discover(root: Path) -> list[Path]:
    """Every `*_step.py` under `steps/`, in a stable order. `*.step.py` is refused, as Motia does."""
    steps_dir = root / "steps"
    if not steps_dir.is_dir():
        raise StepLoadError(f"no steps/ folder under {root}")
    old_style = sorted(steps_dir.rglob("*.step.py"))
    if old_style:
        raise StepLoadError(f"{old_style[0].relative_to(root)}: `*.step.py` is the old naming; rename it to `*_step.py`")
    return sorted(p for p in steps_dir.rglob("*_step.py") if "__pycache__" not in p.parts)


def explains_itself(exc: BaseException) -> bool:
    """Whether `exc`'s class says its message needs no traceback (see the module docstring)."""
    return getattr(type(exc), "explains_itself", False) is True


def _import(path: Path, rel: str) -> Any:
    module_name = "steps_" + re.sub(r"\W", "_", rel[:-3])
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
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
    module = _import(path, rel)
    if not hasattr(module, "config"):
        raise StepLoadError(f"{rel}: no `config` defined")
    try:
        config = parse_config(module.config, rel)
    except StepConfigError as exc:
        raise StepLoadError(str(exc)) from None
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


def load_steps(root: Path) -> list[Step]:
    root = root.resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # steps import `services.*` from the project root, as under Motia
    steps: list[Step] = []
    names: dict[str, str] = {}
    routes: dict[tuple[str, str], str] = {}
    for path in discover(root):
        step = load_step(path, root)
        if step.name in names:
            raise StepLoadError(f"{step.file}: config.name: step name {step.name!r} is already used by {names[step.name]}")
        names[step.name] = step.file
        if isinstance(step.config, ApiConfig):
            key = route_key(step.config)
            if key in routes:
                raise StepLoadError(f"{step.file}: config.path: route {step.config.method} {step.config.path} is already defined by {routes[key]}")
            routes[key] = step.file
        steps.append(step)
    return steps


def describe(step: Step) -> str:
    """What matters about a step in one line: its route, subscriptions, schedule or actor."""
    c = step.config
    if isinstance(c, ApiConfig):
        return f"{c.method} {c.path}"
    if isinstance(c, EventConfig):
        return "on " + ", ".join(c.subscribes)
    if isinstance(c, CronConfig):
        return f"cron {c.cron}"
    return "noop " + ", ".join(c.virtualSubscribes or []) + " -> " + ", ".join(topic_of(e) for e in c.virtualEmits or [])
