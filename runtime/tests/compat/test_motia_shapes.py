"""Issue 11: the small shapes Motia 0.17's Python runner gives steps, copied exactly."""

from __future__ import annotations

from typing import Any

import pytest

from steprunner.context import motia_wrapped
from steprunner.log import motia_fields
from steprunner.step_config import StepConfigError, parse_config


@pytest.mark.parametrize(
    ("stored", "returned"),
    [
        (None, {"data": None}),
        ({"name": "Rex"}, {"data": {"name": "Rex"}}),
        ({"data": 1, "more": 2}, {"data": 1, "more": 2}),  # Motia's quirk: a dict with `data` is not wrapped
        ([{"a": 1}], [{"a": 1}]),
        ([], []),
        (7, 7),
        ("text", "text"),
    ],
)
def test_state_get_wraps_as_motia_rpc_state_manager(stored: Any, returned: Any) -> None:
    assert motia_wrapped(stored) == returned


class Pet:
    def __init__(self) -> None:
        self.name = "Rex"


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (None, None),
        ({}, None),
        ({"a": 1}, {"a": 1}),
        ("p1", {"data": "p1"}),
        ([1, 2], {"data": [1, 2]}),
        (Pet(), {"name": "Rex"}),
    ],
)
def test_logger_arguments_as_motia_logger_takes_them(args: Any, fields: Any) -> None:
    assert motia_fields(args) == fields


def test_integer_response_schema_keys_are_accepted() -> None:
    config = {
        "type": "api",
        "name": "A",
        "path": "/a",
        "method": "GET",
        "emits": [],
        "responseSchema": {200: {"type": "object"}},
    }
    assert parse_config(config, "steps/a_step.py").responseSchema == {"200": {"type": "object"}}  # type: ignore[union-attr]
    with pytest.raises(StepConfigError, match="responseSchema"):
        parse_config({**config, "responseSchema": {200: "not a schema"}}, "steps/a_step.py")
