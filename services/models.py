"""Pydantic models of the pet service: what a client may send, what it gets back, what events carry.

Validation lives here, once. Steps call `CreatePet.model_validate(body)` and friends and turn
a `ValidationError` into the 400 body with `services.validation.invalid_payload()`; the JSON Schemas in the step
configs (`bodySchema`, `responseSchema`, `input`) are generated from these same models.

Types are strict where a client could send the wrong one: `"24"` is not a number of months
and `1` is not a name; pydantic would otherwise quietly convert them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor
from services.profile import Profile

# Bounds of `ageMonths`: 0 is a newborn; 1200 months (100 years) covers the longest-lived
# shelter animals ("other" includes tortoises, parrots outlive people) and still catches a
# slip such as a birth year or a timestamp typed into the field.
MAX_AGE_MONTHS = 1200
NAME_MAX_CHARS = 100
# Weight: the heaviest shelter animals (a Great Dane, a pony-sized "other") stay well below 500 kg;
# the bound catches grams typed as kilograms. Symptoms are short observations, a handful per pet.
MAX_WEIGHT_KG = 500
SYMPTOM_MAX_CHARS = 100
MAX_SYMPTOMS = 20
MAX_REVIEWS = 20  # decision records kept on a pet, oldest dropped first (docs/decisions.md#19)


class Species(StrEnum):
    DOG = "dog"
    CAT = "cat"
    BIRD = "bird"
    OTHER = "other"


class Flag(StrEnum):
    """Flags the service keeps on a pet. `needs_data`: the adoption review found the pet's record
    incomplete; it can't become `available` or `pending` until the flag is cleared. `needs_staff`:
    a model's review decision went against the shelter's rules in the unsafe direction, so it was
    recorded but not applied (services/review_rules.py); staff decide, then clear the flag."""

    NEEDS_DATA = "needs_data"
    NEEDS_STAFF = "needs_staff"


class Agent(StrEnum):
    """The routing agents (docs/decisions.md#15): each only chooses among its declared choices."""

    HEALTH = "health"
    ADOPTION = "adoption"


class Choice(StrEnum):
    """Every choice an agent may make; `AGENT_CHOICES` says which agent may make which."""

    TREATMENT_REQUIRED = "treatment_required"
    NO_TREATMENT_NEEDED = "no_treatment_needed"
    READY = "ready"
    NEEDS_DATA = "needs_data"


AGENT_CHOICES: dict[Agent, tuple[Choice, ...]] = {
    Agent.HEALTH: (Choice.TREATMENT_REQUIRED, Choice.NO_TREATMENT_NEEDED),
    Agent.ADOPTION: (Choice.READY, Choice.NEEDS_DATA),
}


class TimelineKind(StrEnum):
    """What a pet's timeline item tells of (docs/decisions.md#20): one kind per event of its life."""

    CREATED = "created"
    FEEDING_REMINDER_SET = "feeding_reminder_set"
    STATUS_CHANGED = "status_changed"  # every transition, quarantine included
    STATUS_CHANGE_REJECTED = "status_change_rejected"
    ENRICHMENT_STARTED = "enrichment_started"
    ENRICHMENT_COMPLETED = "enrichment_completed"
    ENRICHMENT_FAILED = "enrichment_failed"  # a call with a key set failed: the fallback profile
    PROFILE_FROM_TEMPLATE = "profile_from_template"  # no key (AI is off): the fallback profile, by choice
    REVIEW_REQUESTED = "review_requested"
    REVIEW_DECIDED = "review_decided"
    TREATMENT_PLAN_WRITTEN = "treatment_plan_written"
    ADOPTION_POSTING_WRITTEN = "adoption_posting_written"
    DELETED = "deleted"
    RESTORED = "restored"


class Status(StrEnum):
    """The ten statuses of docs/decisions.md#2, in lifecycle order."""

    NEW = "new"
    IN_QUARANTINE = "in_quarantine"
    HEALTHY = "healthy"
    AVAILABLE = "available"
    PENDING = "pending"
    ADOPTED = "adopted"
    ILL = "ill"
    UNDER_TREATMENT = "under_treatment"
    RECOVERED = "recovered"
    DELETED = "deleted"


Name = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_CHARS),
    Field(description="The pet's name; surrounding spaces are trimmed, and it can't be empty."),
]
AgeMonths = Annotated[
    float,
    Strict(),
    Field(ge=0, le=MAX_AGE_MONTHS, allow_inf_nan=False, description=f"Age in months, 0 to {MAX_AGE_MONTHS}."),
]
EpochMs = Annotated[int, Field(description="A time in epoch milliseconds.")]
WeightKg = Annotated[
    float,
    Strict(),
    Field(
        gt=0,
        le=MAX_WEIGHT_KG,
        allow_inf_nan=False,
        description=f"Weight in kilograms, above 0 and at most {MAX_WEIGHT_KG}.",
    ),
]
Symptom = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=SYMPTOM_MAX_CHARS)]
Symptoms = Annotated[
    list[Symptom],
    Field(
        max_length=MAX_SYMPTOMS,
        description=f"Observed symptoms, short phrases (at most {MAX_SYMPTOMS}, {SYMPTOM_MAX_CHARS} characters each).",
    ),
]
# The bound is loose on purpose: duplicates are merged after validation, so ["needs_data", "needs_data"]
# is one flag, and an unknown flag is named as such rather than as "too many".
Flags = Annotated[
    list[Flag],
    Field(max_length=10, description="Flags the service keeps (duplicates merged); staff clear them with `[]`."),
]


def _not_null(value: Any) -> Any:
    """A field sent as null is refused, never read as "leave it" or "unknown": on real Motia a number
    too large for JSON (`1e999`) reaches the step as null, and must not quietly become "no weight"."""
    if value is None:
        raise PydanticCustomError("null_field", "can't be null; leave the field out to keep it as it is")
    return value


def _whole_number(value: float) -> float | int:
    """24.0 is written back as 24, as the spec shows it."""
    return int(value) if value.is_integer() else value


class CreatePet(BaseModel):
    """Body of POST /py/pets."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Buddy", "species": "dog", "ageMonths": 24},
                {"name": "Rex", "species": "dog", "ageMonths": 36, "weightKg": 30, "symptoms": ["limping"]},
            ]
        },
    )

    name: Name
    species: Species
    ageMonths: AgeMonths
    weightKg: WeightKg | None = None
    symptoms: Symptoms = Field(default_factory=list)

    _optional_not_null = field_validator("weightKg", "symptoms", mode="before")(_not_null)

    @field_serializer("ageMonths", "weightKg")
    def _number(self, value: float | None) -> float | int | None:
        return None if value is None else _whole_number(value)


class UpdatePet(BaseModel):
    """Body of PUT /py/pets/:id: any of the fields, at least one.

    `status` is a request to the lifecycle orchestrator, never written directly; `deleted`
    is refused here because only DELETE soft-deletes a pet (docs/decisions.md#5). A field sent
    as null is refused rather than read as "leave it": a pet can't lose its name.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "healthy"},
                {"name": "Max", "ageMonths": 30},
                {"weightKg": 12.5, "symptoms": ["coughing"]},
                {"flags": []},
            ]
        },
    )

    name: Name | None = None
    species: Species | None = None
    ageMonths: AgeMonths | None = None
    weightKg: WeightKg | None = None
    symptoms: Symptoms | None = None
    flags: Flags | None = None
    status: Status | None = None

    _fields_not_null = field_validator(
        "name", "species", "ageMonths", "weightKg", "symptoms", "flags", "status", mode="before"
    )(_not_null)

    @field_validator("status")
    @classmethod
    def _not_deleted(cls, value: Status | None) -> Status | None:
        if value is Status.DELETED:
            raise PydanticCustomError(
                "use_delete", "a pet can't be set to 'deleted' with PUT: use DELETE /py/pets/:id to delete it"
            )
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> UpdatePet:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "empty_update", "send at least one of name, species, ageMonths, weightKg, symptoms, flags, status"
            )
        return self

    @field_validator("flags")
    @classmethod
    def _distinct_flags(cls, flags: list[Flag] | None) -> list[Flag] | None:
        return None if flags is None else list(dict.fromkeys(flags))

    @field_serializer("ageMonths", "weightKg")
    def _number(self, value: float | None) -> float | int | None:
        return None if value is None else _whole_number(value)

    def field_changes(self) -> dict[str, Any]:
        """The non-status fields the client sent, ready to patch into the pet."""
        sent = self.model_dump(mode="json", include=self.model_fields_set - {"status"})
        return sent


class PageQuery(BaseModel):
    """`limit` and `cursor` of a paged listing (the pets list, a pet's timeline). Values arrive as text; each
    may be given once."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Page size, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
    )
    cursor: str | None = Field(default=None, description="`nextCursor` of the previous page.")

    @field_validator("*", mode="before")
    @classmethod
    def _single_value(cls, value: Any) -> Any:
        if isinstance(value, list):
            raise PydanticCustomError("repeated_param", "given {n} times; give it once", {"n": len(value)})
        return value

    @field_validator("cursor")
    @classmethod
    def _valid_cursor(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                decode_cursor(value)
            except ValueError as exc:
                raise PydanticCustomError("bad_cursor", "{why}", {"why": str(exc)}) from None
        return value


class ListQuery(PageQuery):
    """Query of GET /py/pets."""

    status: Status | None = Field(
        default=None, description="Only pets with this status (deleted pets are listed only when asked for)."
    )
    species: Species | None = Field(default=None, description="Only pets of this species.")


class TimelineQuery(PageQuery):
    """Query of GET /py/pets/:id/timeline: a page of the timeline, newest first."""


class ReviewRecord(BaseModel):
    """One agent decision, as kept on the pet under `reviews` (docs/decisions.md#19): what staff audit."""

    id: str = Field(description="The review's id (the 202 of the review request gives it).")
    agent: Agent
    choice: Choice
    rationale: str = Field(max_length=1000)
    source: Literal["model", "fallback"]
    model: str | None = Field(default=None, description="The model that chose (source model).")
    fallbackReason: str | None = Field(
        default=None, description="Why the rule-based fallback decided (source fallback)."
    )
    inputs: dict[str, Any] = Field(description="The pet's data as the agent saw it.")
    heldForStaff: str | None = Field(
        default=None,
        description="Why the decision was recorded but not applied (a model's choice against the rules in the unsafe"
        " direction): the pet is flagged needs_staff and staff decide.",
    )
    allowedChoices: list[Choice]
    at: EpochMs
    traceId: str | None = None


class PendingStatusRequest(BaseModel):
    """A staff status request (PUT with `status`) waiting for the lifecycle orchestrator."""

    requestId: str = Field(description="The `requestId` the PUT's 202 answered.")
    requestedStatus: Status
    requestedAt: EpochMs


class TimelineEntry(BaseModel):
    """What the stream `petTimeline` stores for one item (its schema; the stream adds the `id`)."""

    at: EpochMs = Field(description="When it happened.")
    kind: TimelineKind
    message: str = Field(description="What happened, in words, for people.")
    data: dict[str, Any] = Field(description="The facts that matter for this kind (statuses, times, choices).")


class TimelineItem(TimelineEntry):
    """One item of a pet's timeline: the entry and its id."""

    id: str = Field(description="The pet's own sequence, zero-padded: ids sort in the order things happened.")


class PetTimeline(BaseModel):
    """Body of GET /py/pets/:id/timeline."""

    petId: str
    items: list[TimelineItem] = Field(description="Newest first.")
    nextCursor: str | None = Field(description="Pass as `cursor` for the older items; null on the last page.")


def _every_field_required(schema: dict[str, Any]) -> None:
    """An answer carries every field of the model, null or empty where not set: say so in the schema."""
    schema["required"] = list(schema.get("properties", {}))


class Pet(BaseModel):
    """A pet as every answer shows it (POST, GET, the list, PUT, restore): every field is always
    present, null or empty where not set (`services.responses.shown` makes it so).

    The store keeps a little more for the service's own use (the timeline's numbering and outbox,
    the status requests the orchestrator has settled, so that a redelivered event is ignored); that is
    never shown. What the service keeps that a client can act on is part of the model:
    `pendingStatusRequest` (a status change asked for and not yet made), `statusBeforeDelete` (where a
    restore goes back to) and `enrichmentStartedAt` (a profile is being written).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_every_field_required)

    id: str
    name: str
    species: Species
    ageMonths: float
    weightKg: float | None = None
    symptoms: list[str] = Field(default_factory=list)
    status: Status
    pendingStatusRequest: PendingStatusRequest | None = Field(
        default=None,
        description="A staff status request (PUT) the orchestrator has not settled yet; null once it has "
        "(the status and the timeline then say how). A client that asked can see its request waiting.",
    )
    createdAt: EpochMs
    updatedAt: EpochMs
    notes: str | None = Field(default=None, description="Set by the feeding reminder job.")
    nextFeedingAt: EpochMs | None = Field(
        default=None, description="createdAt + 24 h, set by the feeding reminder job."
    )
    deletedAt: EpochMs | None = None
    purgeAt: EpochMs | None = Field(
        default=None, description="deletedAt + 30 days; the reaper removes the pet after it."
    )
    statusBeforeDelete: Status | None = Field(
        default=None,
        description="While deleted: the status a restore goes back to (null otherwise). Staff deciding "
        "whether to restore see where the pet would return.",
    )
    profile: Profile | None = Field(default=None, description="Written by the AI profile enrichment step.")
    enrichmentStartedAt: EpochMs | None = Field(
        default=None,
        description="When the profile being written was started; null once it is written. A client waiting "
        "for the profile can tell it is under way.",
    )
    flags: list[Flag] = Field(
        default_factory=list, description="Kept by the service: `needs_data` blocks `available` and `pending`."
    )
    reviews: list[ReviewRecord] = Field(
        default_factory=list, description=f"The agents' decisions, oldest first, the last {MAX_REVIEWS}."
    )
    treatmentPlan: dict[str, Any] | None = Field(
        default=None, description="Written when the pet enters under_treatment."
    )
    adoptionPosting: dict[str, Any] | None = Field(default=None, description="Written when the pet becomes available.")


class PetPage(BaseModel):
    """Body of GET /py/pets."""

    items: list[Pet]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class StatusRequestAnswer(BaseModel):
    """Body of the 202 a PUT with `status` answers: what will (or won't) happen."""

    message: str
    petId: str
    currentStatus: Status
    requestedStatus: Status
    accepted: bool
    reason: str | None = Field(default=None, description="Why the transition table rules it out (accepted: false).")
    requestId: str | None = Field(default=None, description="Carried by the lifecycle events this request causes.")
    pet: Pet


class ReviewRequestAnswer(BaseModel):
    """Body of the 202 a review request answers: the review is on its way to the agent."""

    message: str
    petId: str
    reviewId: str = Field(description="The id the decision will have under the pet's `reviews`.")
    agent: Agent
    currentStatus: Status
    allowedChoices: list[Choice] = Field(description="The only decisions the agent can make.")


class SoftDeleted(BaseModel):
    """Body of the 202 DELETE answers."""

    message: str
    petId: str
    purgeAt: EpochMs


class FieldError(BaseModel):
    field: str
    error: str


class ErrorBody(BaseModel):
    """Every error answer: a message, and for 400 each bad field with why."""

    message: str
    errors: list[FieldError] | None = None


# ----------------------------------------------------------------------- event payloads


class PetCreated(BaseModel):
    """`py.pet.created`: a pet was taken in."""

    petId: str
    name: str
    species: Species
    ageMonths: float

    @field_serializer("ageMonths")
    def _age(self, value: float) -> float | int:
        return _whole_number(value)


class ProfileRequested(BaseModel):
    """What the profile enricher needs from either of its events (`py.pet.created`, or
    `py.ai.profile.enrichment.requested` from a restore or the reconciler): the pet's id."""

    model_config = ConfigDict(extra="allow")

    petId: str = Field(min_length=1)


class FeedingReminderEnqueued(BaseModel):
    petId: str
    enqueuedAt: EpochMs


class FeedingReminderCompleted(BaseModel):
    petId: str
    nextFeedingAt: EpochMs
    processingTimeMs: int | None = None


class ReviewRequested(BaseModel):
    """`py.health.review.requested` / `py.adoption.review.requested`: staff asked an agent for a review."""

    petId: str = Field(min_length=1)
    reviewId: str = Field(min_length=1)
    agent: Agent
    requestedAt: EpochMs


class ReviewDecided(BaseModel):
    """An agent's decision (`py.health.treatment_required`, `py.adoption.ready`, ...), for the orchestrator."""

    petId: str = Field(min_length=1)
    review: ReviewRecord


class PetCareRequested(BaseModel):
    """`py.treatment.required` / `py.adoption.posting.requested`: a pet entered under_treatment /
    available (or the reconciler found it without its plan / posting)."""

    petId: str = Field(min_length=1)


class StatusUpdateRequested(BaseModel):
    """A request to the orchestrator, from staff (PUT) or its own automatic progression."""

    petId: str
    requestedStatus: Status
    currentStatus: Status | None = Field(default=None, description="The status the requester saw.")
    automatic: bool = False
    fromStatus: Status | None = Field(
        default=None, description="Automatic only: apply only while the pet is still in this status."
    )
    requestId: str | None = None


def schema(*models: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a model (or of any one of several), self-contained, for a step config.

    Nested models sit under the top-level `$defs`, where `#/$defs/...` references find them.
    """
    if len(models) == 1:
        return models[0].model_json_schema()
    return TypeAdapter(Union[models]).json_schema()  # type: ignore[arg-type]  # noqa: UP007 - a union of models chosen at run time  # type: ignore[arg-type]


def query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A step config's `queryParams` from the model that validates the query: each parameter's name,
    description and JSON Schema (enums, bounds), so /docs offers the allowed values.

    Motia 0.17 reads only `name` and `description` and passes `schema` by; steprunner puts it in the
    OpenAPI document. A parameter is either given or left out, so the schema says nothing of null.
    """
    full = model.model_json_schema()
    defs = full.get("$defs", {})
    params: list[dict[str, Any]] = []
    for name, field in model.model_fields.items():
        param_schema = dict(full["properties"][name])
        param_schema.pop("title", None)
        description = param_schema.pop("description", None) or field.description or ""
        branches = [b for b in param_schema.pop("anyOf", []) if b != {"type": "null"}]
        if len(branches) == 1:
            param_schema.update(branches[0])
        elif branches:
            param_schema["anyOf"] = branches
        if param_schema.get("default", ...) is None:
            del param_schema["default"]
        used = {ref.rsplit("/", 1)[-1] for ref in _refs(param_schema)}
        if used:
            param_schema["$defs"] = {key: defs[key] for key in sorted(used)}
        params.append({"name": name, "description": description, "schema": param_schema})
    return params


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []
