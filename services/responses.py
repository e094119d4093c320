"""How API steps answer what is not their business logic: a missing pet, a store that can't be used,
and an emit that failed after the change it follows was made durable.

The same step files answer the same way on real Motia (whose venv installs steprunner too; a 503's
`Retry-After` is the runtime's `RETRY_AFTER_SECONDS`, so the runtime's own 503 and the store's agree):

    @answers_store_errors
    async def handler(req, context):
        pet = await load_pet(store, req["pathParams"]["id"])   # PetNotFound -> 404 (so does modify_pet)
        ...

A corrupt or unreadable pets.json must never look like an empty shelter, so a StoreError is a 500
naming the problem, and its body never shows a server path. A store that is only busy (pets.json
locked by another process, or no database connection free in time) is a 503 with `Retry-After`:
the client should try again, nothing is wrong.
A pet goes out through `shown`, as the documented model `services.models.Pet`: every field present, the
service's bookkeeping left in the store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from services.decisions import FollowUp
from services.models import Pet as PetModel
from services.store_contract import Change, Decides, Pet, Store, StoreBusyError, StoreError
from steprunner.db.busy import RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from steprunner.step_types import ApiRequest, ApiResponse, ApiRouteHandler, Context

D = TypeVar("D", bound=Decides)


class PetNotFound(Exception):
    """No pet with this id (never created, or purged)."""


# What the API shows of a pet: the fields of the documented model, every one of them, in its order.
# Whatever else the store keeps is the service's own bookkeeping and never shown: the timeline's
# numbering and outbox (services/timeline.py; the outbox is empty but for the moment between a change
# and its stream write, and would flicker), the status requests the orchestrator settled
# (`lastStatusRequestId`, `settledStatusRequestIds`: they make a redelivered event harmless) and any
# key a hand edit of pets.json added.
_SHOWN = tuple((name, field) for name, field in PetModel.model_fields.items())


def shown(pet: Pet) -> Pet:
    """A pet as the API shows it: the model's fields, null or empty where the store has none."""
    return {name: pet[name] if name in pet else field.get_default(call_default_factory=True) for name, field in _SHOWN}


def not_found() -> ApiResponse:
    return {"status": 404, "body": {"message": "Not found"}}


def store_failure(exc: StoreError) -> ApiResponse:
    """500 with what is wrong; 503 with `Retry-After` when the store is only busy (StoreBusyError)."""
    if isinstance(exc, StoreBusyError):
        return {"status": 503, "body": {"message": exc.public}, "headers": {"Retry-After": str(RETRY_AFTER_SECONDS)}}
    return {"status": 500, "body": {"message": exc.public}}


async def load_pet(store: Store, pet_id: str) -> Pet:
    """The pet, or PetNotFound (answered 404 by `answers_store_errors`)."""
    pet = await store.aget(pet_id)
    if pet is None:
        raise PetNotFound(pet_id)
    return pet


async def modify_pet(store: Store, pet_id: str, decide: Callable[[Pet], D]) -> Change[D]:
    """`store.amodify`, or PetNotFound (answered 404 by `answers_store_errors`)."""
    change = await store.amodify(pet_id, decide)
    if change is None:
        raise PetNotFound(pet_id)
    return change


def answers_store_errors(handler: ApiRouteHandler) -> ApiRouteHandler:
    """Wrap an API handler: PetNotFound is a 404, StoreError is logged and answered 500/503."""

    @functools.wraps(handler)
    async def wrapped(req: ApiRequest, context: Context) -> ApiResponse:
        try:
            return await handler(req, context)
        except PetNotFound:
            return not_found()
        except StoreBusyError as exc:  # "try again", not a fault: a warning, as the runtime's own 503 is
            context.logger.warn("⚠️ Pet store busy: answered 503", {"error": str(exc)})
            return store_failure(exc)
        except StoreError as exc:
            context.logger.error("❌ Pet store unavailable", {"error": str(exc)})
            return store_failure(exc)

    return wrapped


async def emit_follow_ups(context: Context, follow_ups: Iterable[FollowUp]) -> None:
    """Emit what a durable change implies, from an API step: a failed emit is logged, not raised.

    The change is already on disk and the client is owed the truth about it (a 500 would make them
    retry and create a second pet). What the failed emit would have set going, the reconciler
    (steps/pet_reconciler_cron_step.py) finds missing and sets going again.
    """
    for follow_up in follow_ups:
        try:
            await context.emit({"topic": follow_up.topic, "data": follow_up.data})
        except Exception as exc:  # noqa: BLE001 - see above: logged, then repaired by the reconciler
            context.logger.error(
                "❌ Event not queued; the reconciler will queue it again",
                {
                    "topic": follow_up.topic,
                    "petId": follow_up.data.get("petId"),
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
