"""`*_stream.py` files: find them, import them and check their `config` (a stream's name, schema, `canAccess`).

Motia's discovery rules and what steprunner checks beyond them: runtime/docs/streams.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steprunner.loader import StepLoadError, import_file
from steprunner.schemas import InvalidSchema, Validator, compile_schema

DEFAULT_SYNC_LIMIT = 1000  # items in a group join's sync when the stream does not say (`syncLimit`)


@dataclass(frozen=True)
class StreamDef:
    """One `*_stream.py`: its name, schema, optional `canAccess` and how many items a group join's sync carries."""

    file: str
    name: str
    schema: dict[str, Any] | None
    can_access: Callable[..., Any] | None = None
    sync_limit: int = DEFAULT_SYNC_LIMIT
    validator: Validator | None = field(default=None, compare=False, repr=False)


def discover_streams(root: Path) -> list[Path]:
    """Every `*_stream.py` under `steps/` and `src/`, in a stable order (Motia's `**/*_stream.py`)."""
    found: list[Path] = []
    for name in ("steps", "src"):
        if (root / name).is_dir():
            found += sorted(p for p in (root / name).rglob("*_stream.py") if "__pycache__" not in p.parts)
    return found


def parse_stream(config: Any, rel: str) -> StreamDef:
    """Check a stream's `config`; StepLoadError names the file and the key."""
    if not isinstance(config, dict):
        raise StepLoadError(f"{rel}: `config` must be a dict")
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise StepLoadError(f"{rel}: config.name: a stream needs a non-empty string name")
    base = config.get("baseConfig")
    if not isinstance(base, dict) or base.get("storageType") != "default":
        raise StepLoadError(
            f"{rel}: config.baseConfig must be {{'storageType': 'default'}} (custom storage needs a JavaScript factory)"
        )
    schema = config.get("schema")
    validator = None
    if schema is not None:
        if not isinstance(schema, dict):
            raise StepLoadError(f"{rel}: config.schema must be a JSON Schema object (a dict)")
        try:
            validator = compile_schema(schema)
        except InvalidSchema as exc:
            raise StepLoadError(f"{rel}: config.schema is not a valid JSON Schema: {exc}") from None
    can_access = config.get("canAccess")
    if can_access is not None and not callable(can_access):
        raise StepLoadError(f"{rel}: config.canAccess must be a function (subscription, auth_context) -> bool")
    sync_limit = config.get("syncLimit", DEFAULT_SYNC_LIMIT)
    if not isinstance(sync_limit, int) or isinstance(sync_limit, bool) or sync_limit < 1:
        raise StepLoadError(
            f"{rel}: config.syncLimit must be a positive integer (the newest items a join's sync sends)"
        )
    return StreamDef(
        file=rel, name=name, schema=schema, can_access=can_access, sync_limit=sync_limit, validator=validator
    )


def load_streams(root: Path) -> list[StreamDef]:
    """Import and check every stream config; start-up stops on a bad one or a duplicate name."""
    root = root.resolve()
    streams: dict[str, StreamDef] = {}
    for path in discover_streams(root):
        rel = path.relative_to(root).as_posix()
        module = import_file(path, rel)
        if not hasattr(module, "config"):
            raise StepLoadError(f"{rel}: no `config` defined")
        stream = parse_stream(module.config, rel)
        if stream.name in streams:
            raise StepLoadError(
                f"{rel}: config.name: stream name {stream.name!r} is already used by {streams[stream.name].file}"
            )
        streams[stream.name] = stream
    return list(streams.values())
