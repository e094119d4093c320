"""What the steps and tools may ask of a pet store, whichever one `get_store()` gave them.

The types, errors and rules both stores share live here, so each store depends on this module
alone and neither on the other: the JSON file in DATA_DIR (services/pet_store_file.py, the default
and the spec's store) and PostgreSQL when DATABASE_URL is set (services/pet_store_pg.py);
services/store.py picks one. Their contract tests are one suite (tests/services/test_pet_store.py
runs it against both).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from services.clock import Clock

Pet = dict[str, Any]

D = TypeVar("D", bound="Decides")
V = TypeVar("V", bound="Judges")


class StoreError(Exception):
    """The store can't do what was asked. `str()` names the file or database (for the log); `public`
    does not (for HTTP answers, which must not show server paths).

    `explains_itself`: raised while a step imports, the runtime prints the message alone, without
    a traceback (the message already says what is wrong and how to fix it).
    """

    explains_itself = True

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or "The pet store is unavailable; the server log says why"


class StoreBusyError(StoreError):
    """Only busy: the file's lock held too long by another process, or no database connection free in time."""


class Decides(Protocol):
    """What `modify` needs from a decision: the patch to apply, or None to change nothing."""

    @property
    def patch(self) -> Mapping[str, Any] | None: ...


class Judges(Protocol):
    """What `purge` needs from a verdict: whether the pet goes."""

    @property
    def purge(self) -> bool: ...


@dataclass(frozen=True)
class Patch:
    """A decision that is only a patch (plain updates)."""

    patch: Mapping[str, Any] | None


@dataclass(frozen=True)
class Change(Generic[D]):
    """One pet before and after a read-modify-write, and the decision taken on it."""

    decision: D
    before: Pet
    after: Pet

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Page:
    """One page of a listing; `next_cursor` is None on the last page."""

    items: list[Pet]
    next_cursor: str | None


def decided(pet_id: str, before: Pet, decision: D, clock: Clock) -> Change[D]:
    """The pet a decision's patch makes of `before` (the decision was taken on a copy of it): the
    rule both stores follow. No patch: nothing to write. `updatedAt` is stamped unless the patch
    sets it; an id can't change."""
    patch = decision.patch
    if not patch:
        return Change(decision, before, before)
    if "id" in patch and patch["id"] != pet_id:
        raise ValueError("a pet's id can't be changed")
    after = {**before, **patch}
    if "updatedAt" not in patch:
        after["updatedAt"] = clock()
    return Change(decision, before, after)


def sort_key(pet_id: str) -> tuple[int, int, str]:
    """The listing order both stores keep: numeric ids in numeric order ("2" before "10"), then any
    hand-made ids by text."""
    if pet_id.isascii() and pet_id.isdigit():
        return (0, int(pet_id), pet_id)
    return (1, 0, pet_id)


class Store(Protocol):
    # async: the steps
    async def aget(self, pet_id: str) -> Pet | None: ...
    async def alist(
        self, *, status: str | None = None, species: str | None = None, limit: int = ..., cursor: str | None = None
    ) -> Page: ...
    async def aall(self) -> builtins.list[Pet]: ...
    async def acreate(self, fields: Mapping[str, Any]) -> Pet: ...
    async def amodify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None: ...
    async def apurge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]: ...

    # sync: the CLI, tools and tests
    def get(self, pet_id: str) -> Pet | None: ...
    def list(
        self, *, status: str | None = None, species: str | None = None, limit: int = ..., cursor: str | None = None
    ) -> Page: ...
    def all(self) -> builtins.list[Pet]: ...
    def count(self) -> int: ...
    def create(self, fields: Mapping[str, Any]) -> Pet: ...
    def modify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None: ...
    def update(self, pet_id: str, patch: Mapping[str, Any]) -> Pet | None: ...
    def purge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]: ...
    def close(self) -> None: ...
