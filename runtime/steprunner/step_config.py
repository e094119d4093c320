"""The Motia 0.17 step `config` contract, as strict pydantic models.

Motia rejects unknown keys, a missing `emits` and wrong types; so do these models, so a step
that starts here also starts under Motia. `parse_config` turns pydantic's errors into one
message that names the file and the key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmitSpec(Strict):
    topic: str = Field(min_length=1)
    label: str | None = None
    conditional: bool | None = None


Emit = Annotated[str, Field(min_length=1)] | EmitSpec


class HandlerInfra(Strict):
    timeout: float | int | None = Field(default=None, gt=0)


class QueueInfra(Strict):
    type: Literal["standard", "fifo"] = "standard"
    maxRetries: int = Field(default=3, ge=0)
    visibilityTimeout: float | int | None = Field(default=None, gt=0)
    delaySeconds: float | int = Field(default=0, ge=0)


class Infrastructure(Strict):
    handler: HandlerInfra = HandlerInfra()
    queue: QueueInfra = QueueInfra()


class QueryParam(Strict):
    """One entry of an API step's `queryParams`. Motia 0.17 reads `name` and `description` and lets
    other keys by (it checks the entry with a non-strict object); `schema`, a JSON Schema of the value
    (an enum, bounds), is steprunner's addition for the OpenAPI document (runtime/docs/web.md)."""

    name: str
    description: str | None = None
    value_schema: dict[str, Any] | None = Field(default=None, alias="schema")


class _Common(Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    flows: list[str] | None = None
    virtualEmits: list[Emit] | None = None
    virtualSubscribes: list[str] | None = None
    includeFiles: list[str] | None = None

    def emit_topics(self) -> set[str]:
        return {topic_of(e) for e in getattr(self, "emits", None) or []}


class ApiConfig(_Common):
    type: Literal["api"]
    path: str = Field(pattern=r"^/")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    emits: list[Emit]
    bodySchema: dict[str, Any] | None = None
    responseSchema: dict[str, dict[str, Any]] | None = None
    queryParams: list[QueryParam] | None = None
    middleware: list[Any] | None = None

    @field_validator("responseSchema", mode="before")
    @classmethod
    def _status_keys(cls, value: Any) -> Any:
        """Python Motia projects write `{200: schema}`; Motia takes integer keys, so they become `"200"`."""
        if isinstance(value, dict):
            return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v for k, v in value.items()}
        return value

    @field_validator("middleware")
    @classmethod
    def _callables(cls, value: list[Any] | None) -> list[Any] | None:
        if value and not all(callable(m) for m in value):
            raise ValueError("every middleware must be a callable `async def (req, context, next)`")
        return value


class EventConfig(_Common):
    type: Literal["event"]
    subscribes: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    emits: list[Emit]
    input: dict[str, Any] | None = None
    infrastructure: Infrastructure = Infrastructure()


class CronConfig(_Common):
    type: Literal["cron"]
    cron: str
    emits: list[Emit]

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a 5-field cron expression")
        return value


class NoopConfig(_Common):
    type: Literal["noop"]
    virtualEmits: list[Emit]
    virtualSubscribes: list[str]


StepConfig = Annotated[ApiConfig | EventConfig | CronConfig | NoopConfig, Field(discriminator="type")]
_adapter: TypeAdapter[StepConfig] = TypeAdapter(StepConfig)


def topic_of(emit: Emit) -> str:
    return emit if isinstance(emit, str) else emit.topic


class StepConfigError(Exception):
    """A step file whose config Motia would refuse; the message names the file and the key."""


def parse_config(raw: Any, file: str) -> ApiConfig | EventConfig | CronConfig | NoopConfig:
    if not isinstance(raw, dict):
        raise StepConfigError(f"{file}: `config` must be a dict, got {type(raw).__name__}")
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] in ("api", "event", "cron", "noop"):
                loc = loc[1:]  # the discriminator's branch name is noise
            key = ".".join(loc) or "type"
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{file}: config.{key}: {message}")
        raise StepConfigError("\n".join(lines)) from None
