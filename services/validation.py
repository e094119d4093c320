"""The one place a pydantic `ValidationError` becomes words: per field for 400 bodies, one line for logs."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def field_errors(exc: ValidationError, whole: str = "body") -> list[dict[str, str]]:
    """Each bad field named, with why: `[{"field": "species", "error": "..."}]`.

    A problem with the input as a whole (not an object, nothing to update) is field `whole`.
    """
    errors = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or whole
        kind, text = error["type"], error["msg"]
        if kind == "extra_forbidden":
            text = "unknown field"
        elif kind == "missing":
            text = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            field, text = whole, "must be a JSON object"
        elif kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
            text = "must not be empty"
        elif kind in ("float_type", "int_type") and isinstance(error.get("input"), bool):
            text = "Input should be a valid number, not true/false"
        errors.append({"field": field, "error": text})
    return errors


def invalid_payload(exc: ValidationError, message: str = "Invalid payload") -> dict[str, Any]:
    """The 400 body: `{"message": "Invalid payload", "errors": [{"field", "error"}, ...]}`."""
    return {"message": message, "errors": field_errors(exc)}


def one_line(exc: ValidationError, whole: str = "input") -> str:
    """`field: why; field: why`, for a log line or a failure event."""
    return "; ".join(f"{e['field']}: {e['error']}" for e in field_errors(exc, whole))
