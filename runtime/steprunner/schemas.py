"""JSON Schema checks of step data: an event step's `input` and a stream's items.

Both run on every delivery and every stream write, on the hot path of every event chain, so they
use jsonschema-rs (a compiled validator, the same rules as the `jsonschema` package, the draft
picked by `$schema`); what it saved: docs/decisions.md#39. A validator is built once per schema
by its owner (the loader's stream definition, the bus's cache per step) and kept.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

Validator = jsonschema_rs.Validator


class InvalidSchema(ValueError):
    """The schema itself is not a valid JSON Schema; `str()` is one line saying where and why."""


def compile_schema(schema: Any) -> Validator:
    """A validator for `schema`, or InvalidSchema (one line) when the schema is not one."""
    if not isinstance(schema, dict):
        raise InvalidSchema(f"a JSON Schema must be an object, got {type(schema).__name__}")
    try:
        return jsonschema_rs.validator_for(schema)
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        raise InvalidSchema(str(exc).splitlines()[0]) from None


def problems(validator: Validator, data: Any) -> list[str]:
    """What is wrong with `data`, one `field.path: message` per problem ("(root)" for the whole), sorted;
    empty when it is valid (the common case, checked first: it costs a fraction of listing errors)."""
    if validator.is_valid(data):
        return []
    return sorted(f"{_where(err.instance_path)}: {err.message}" for err in validator.iter_errors(data))


def _where(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(root)"
