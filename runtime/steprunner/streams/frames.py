"""What a stream client may send: Motia's join and leave frames, their names bounded in length.

Parsed with pydantic from the frame's text (its JSON parser has a nesting limit, so a deeply nested
frame is an invalid frame, not a RecursionError). How the hub answers each kind of bad frame:
runtime/docs/streams.md.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_NAME_CHARS = 256  # streamName, groupId, id and subscriptionId; longer ones are refused, never echoed


class JoinData(BaseModel):
    """`data` of a join or leave: which stream, group and optional item, under the client's subscription id."""

    model_config = ConfigDict(extra="ignore")

    streamName: str = Field(max_length=MAX_NAME_CHARS)
    groupId: str = Field(max_length=MAX_NAME_CHARS)
    id: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    subscriptionId: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class ClientFrame(BaseModel):
    """One client message: `{"type": "join" | "leave", "data": {...}}` (other types are ignored, as by Motia)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=MAX_NAME_CHARS)
    data: JoinData


class Verdict(Enum):
    """What is wrong with a frame that is not a `ClientFrame`."""

    NOT_JSON = "not JSON, or nested too deep"  # the socket is closed
    TOO_LONG = "a name is too long"  # answered with a short error
    WRONG_SHAPE = "not a join or leave"  # ignored, as before


def parse(text: str | bytes) -> ClientFrame | Verdict:
    """The frame, or what is wrong with it."""
    try:
        return ClientFrame.model_validate_json(text)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors(include_url=False, include_context=False, include_input=False)}
        if "json_invalid" in kinds:
            return Verdict.NOT_JSON
        if "string_too_long" in kinds:
            return Verdict.TOO_LONG
        return Verdict.WRONG_SHAPE
