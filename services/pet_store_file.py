"""The pet store on a file, the default: every pet in `DATA_DIR/pets.json`, shared safely by every process.

The store persists; it decides nothing (what a change means lives in `services/decisions.py`).
Its promises, for any number of processes at once (under real Motia every call is a process):
- every change is a read-modify-write under a cross-process file lock (`pets.json.lock`), on the
  file as it is now, so concurrent patches of one pet lose nothing;
- every write replaces the file atomically and durably (`pet_file.replace_durably`);
- a file that does not parse is `StoreCorruptError`, never an empty store, never overwritten.

Why it is built this way (issue 9, "disk work never blocks the event loop"):
- Changes are **group-committed** by one thread per store: changes that queue up while a write is
  on disk go to disk together, in one file replace and one fsync, and each caller is answered only
  once its own change is durable. A lock held by another process holds up that thread, and so
  only the writes; reads never wait for it.
- Reads take no lock: they serve the copy in memory, re-read only when the file's identity changed
  (another process wrote), and while our own write is on its way they serve the state before it
  (which is what the disk holds until the write is acknowledged).
- Async callers (the steps) use `aget`, `alist`, `acreate`, `amodify`, `apurge` (the Django
  naming): writes await the committer's future, reads run on a small thread pool, so the event
  loop never does disk work. Sync callers (tools, tests) use the plain names.

Kept in memory per pet: its encoded line (a write re-encodes only changed pets; a re-read parses
only changed lines) and its (status, species) for listing filters.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import os
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from services.clock import Clock, now_ms
from services.models import Status
from services.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_cursor, encode_cursor
from services.pet_file import (
    FILE_NAME,
    StoreCorruptError,
    decode_line,
    encode_file,
    encode_line,
    parse_file,
    remove_stale_temp_files,
    replace_durably,
)
from services.store_contract import (
    Change,
    Decides,
    Judges,
    Page,
    Patch,
    Pet,
    StoreBusyError,
    StoreError,
    decided,
    sort_key,
)
from steprunner.settings import data_dir_from_env

LOCK_TIMEOUT_SECONDS = 30.0

D = TypeVar("D", bound=Decides)
V = TypeVar("V", bound=Judges)
T = TypeVar("T")


@dataclass
class _Pets:
    """The store's contents: seq, and per pet (in id order) its encoded line and listing keys."""

    seq: int = 0
    lines: dict[str, bytes] = field(default_factory=dict)
    keys: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # id -> (status, species)
    order: list[str] = field(default_factory=list)
    dirty: bool = False  # changed since it was read or copied

    def copy(self) -> _Pets:
        return _Pets(self.seq, dict(self.lines), dict(self.keys), list(self.order))

    def get(self, pet_id: str) -> Pet | None:
        line = self.lines.get(pet_id)
        return None if line is None else decode_line(pet_id, line)

    def put(self, pet: Pet, line: bytes | None = None) -> None:
        pet_id = pet["id"]
        self.lines[pet_id] = line if line is not None else encode_line(pet_id, pet)  # may raise: before any change
        self.dirty = True
        if pet_id not in self.keys:
            bisect.insort(self.order, pet_id, key=sort_key)
        self.keys[pet_id] = (pet.get("status"), pet.get("species"))

    def drop(self, pet_id: str) -> None:
        self.dirty = True
        del self.lines[pet_id], self.keys[pet_id]
        i = bisect.bisect_left(self.order, sort_key(pet_id), key=sort_key)
        del self.order[i]

    def max_numeric_id(self) -> int:
        for pet_id in reversed(self.order):  # hand-made ids sort last: skip past them
            kind, number, _ = sort_key(pet_id)
            if kind == 0:
                return number
        return 0

    def encoded(self) -> bytes:
        return encode_file(self.seq, list(map(self.lines.__getitem__, self.order)))  # map: C speed, ~4x a generator


@dataclass
class _Job:
    """A change waiting for the committer: `run` changes the draft and returns the caller's result."""

    run: Callable[[_Pets], Any]
    future: Future[Any] = field(default_factory=Future)


class PetStore:
    """The pets in one pets.json. Use `file_store()` (or `get_store()`): one instance per file per process."""

    def __init__(self, path: Path, clock: Clock = now_ms) -> None:
        self.path = path
        self.clock = clock
        self._lock_path = path.with_name(path.name + ".lock")
        self._file_lock = FileLock(str(self._lock_path), timeout=LOCK_TIMEOUT_SECONDS)
        self._mutex = threading.Lock()  # guards _pets/_identity/_held_fd; never held during a lock wait
        self._pets = _Pets()
        self._identity: tuple[int, int, int, int] | None = None
        self._held_fd: int | None = None
        self._writing = False  # our committer is replacing the file: readers keep the state before it
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._committer_pid = 0
        self._readers: ThreadPoolExecutor | None = None
        self._open()

    # ----------------------------------------------------------------- reading

    def get(self, pet_id: str) -> Pet | None:
        """The pet with this id (deleted ones included), or None. A fresh dict every call."""
        return self._current().get(pet_id)

    def list(
        self,
        *,
        status: str | None = None,
        species: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        """A page of pets in id order, after `cursor`, optionally filtered.

        Soft-deleted pets are listed only when asked for with `status="deleted"`: they are on their
        way out and would clutter the shelter's view. ValueError for a bad limit or cursor.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        after = decode_cursor(cursor) if cursor else None
        pets = self._current()
        start = 0 if after is None else bisect.bisect_right(pets.order, sort_key(after), key=sort_key)
        ids: builtins.list[str] = []
        for pet_id in pets.order[start:] if start else pets.order:
            pet_status, pet_species = pets.keys[pet_id]
            if pet_status == Status.DELETED if status is None else pet_status != status:
                continue
            if species is not None and pet_species != species:
                continue
            if len(ids) == limit:
                return Page([pets.get(i) for i in ids], encode_cursor(ids[-1]))  # type: ignore[misc]
            ids.append(pet_id)
        return Page([pets.get(i) for i in ids], None)  # type: ignore[misc]

    def all(self) -> builtins.list[Pet]:
        """Every pet, deleted ones included, in id order (the reconciler's and the tools' view)."""
        pets = self._current()
        return [decode_line(i, pets.lines[i]) for i in pets.order]

    def count(self) -> int:
        """How many pets the file holds, deleted ones included."""
        return len(self._current().order)

    # ----------------------------------------------------------------- writing

    def create(self, fields: Mapping[str, Any]) -> Pet:
        """Store a new pet and return it: the next id from `seq`, createdAt = updatedAt = now.

        `fields` are what a new pet starts with (`services.decisions.intake`).
        """
        if "id" in fields:
            raise ValueError("the store assigns ids; `fields` must not contain `id`")
        return self._submit(lambda pets: self._create(pets, fields)).result()

    def modify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        """Read-modify-write one pet atomically across processes; None for an unknown id.

        `decide(pet)` runs on the committer thread, under the lock, with the pet as it is now, and
        returns a decision whose `patch` is applied (None: nothing is written). If it raises,
        nothing is written and the exception reaches the caller. `updatedAt` is set to now unless
        the patch sets it. This is how conditional changes ("only if status is still X") stay right
        when several processes act on one pet.
        """
        return self._submit(lambda pets: self._modify(pets, pet_id, decide)).result()

    def update(self, pet_id: str, patch: Mapping[str, Any]) -> Pet | None:
        """Apply a field-level patch and return the new pet (None: unknown id)."""
        change = self.modify(pet_id, lambda _pet: Patch(patch))
        return None if change is None else change.after

    def purge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        """Judge every pet under the lock and remove, in one write, those whose verdict says `purge`.

        Returns (pet, verdict) for every pet judged (`judge` returns None for pets not in question).
        """
        return self._submit(lambda pets: self._purge(pets, judge)).result()

    # ----------------------------------------------------------------- async

    async def aget(self, pet_id: str) -> Pet | None:
        return await self._read(self.get, pet_id)

    async def alist(self, **query: Any) -> Page:
        return await self._read(lambda: self.list(**query))

    async def aall(self) -> builtins.list[Pet]:
        return await self._read(self.all)

    async def acreate(self, fields: Mapping[str, Any]) -> Pet:
        if "id" in fields:
            raise ValueError("the store assigns ids; `fields` must not contain `id`")
        result: Pet = await asyncio.wrap_future(self._submit(lambda pets: self._create(pets, fields)))
        return result

    async def amodify(self, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        result: Change[D] | None = await asyncio.wrap_future(
            self._submit(lambda pets: self._modify(pets, pet_id, decide))
        )
        return result

    async def apurge(self, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        result: builtins.list[tuple[Pet, V]] = await asyncio.wrap_future(
            self._submit(lambda pets: self._purge(pets, judge))
        )
        return result

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._readers is None:
            self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pets-read")
        return await asyncio.get_running_loop().run_in_executor(self._readers, fn, *args)

    def close(self) -> None:
        """Let go of the open file (tests that open many stores call this)."""
        with self._mutex:
            self._forget()
        if self._readers is not None:
            self._readers.shutdown(wait=False)

    # ----------------------------------------------------------------- the changes

    def _create(self, pets: _Pets, fields: Mapping[str, Any]) -> Pet:
        seq = max(pets.seq, pets.max_numeric_id()) + 1  # a hand-edited file may hold ids above seq
        stamp = self.clock()
        pet: Pet = {"id": str(seq), **fields}
        pet.update(createdAt=stamp, updatedAt=stamp)  # in place where `fields` holds them, else last
        pets.put(pet)
        pets.seq = seq
        return pet

    def _modify(self, pets: _Pets, pet_id: str, decide: Callable[[Pet], D]) -> Change[D] | None:
        before = pets.get(pet_id)
        if before is None:
            return None
        change = decided(pet_id, before, decide(pets.get(pet_id)), self.clock)  # type: ignore[arg-type]
        if change.after is not before:
            pets.put(change.after)
        return change

    def _purge(self, pets: _Pets, judge: Callable[[Pet], V | None]) -> builtins.list[tuple[Pet, V]]:
        judged = []
        for pet_id in pets.order:
            pet = decode_line(pet_id, pets.lines[pet_id])
            verdict = judge(pet)
            if verdict is not None:
                judged.append((pet, verdict))
        for pet, verdict in judged:  # after every judgement: a judge that raises changes nothing
            if verdict.purge:
                pets.drop(pet["id"])
        return judged

    # ----------------------------------------------------------------- the committer

    def _submit(self, run: Callable[[_Pets], T]) -> Future[T]:
        if self._committer is None or self._committer_pid != os.getpid() or not self._committer.is_alive():
            with self._mutex:  # first use, or a forked child whose parent's thread did not come along
                if self._committer is None or self._committer_pid != os.getpid() or not self._committer.is_alive():
                    self._jobs = queue.SimpleQueue()
                    self._committer = threading.Thread(target=self._commit_forever, name="pets-commit", daemon=True)
                    self._committer_pid = os.getpid()
                    self._committer.start()
        job = _Job(run)
        self._jobs.put(job)
        return job.future

    def _commit_forever(self) -> None:
        jobs = self._jobs
        while True:
            batch = [jobs.get()]
            while True:  # everything that queued up while the last batch was on disk goes together
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: builtins.list[_Job]) -> None:
        """Run a batch of changes on a copy, write it once, then answer each caller.

        A change raises (if at all) before it touches the draft, so one caller's failure leaves the
        others' changes intact.
        """
        results: builtins.list[tuple[Any, BaseException | None]] = []
        try:
            with self._locked():
                draft = self._current().copy()
                for job in batch:
                    try:
                        results.append((job.run(draft), None))
                    except Exception as exc:  # noqa: BLE001 - that caller's failure alone
                        results.append((None, exc))
                if draft.dirty:
                    self._write(draft)
        except BaseException as exc:  # noqa: BLE001 - the lock, the read or the write failed: no change is durable
            results = [(None, _as_store_error(exc, self))] * len(batch)
        for job, (value, error) in zip(batch, results):
            if error is None:
                job.future.set_result(value)
            else:
                job.future.set_exception(error)

    def _write(self, draft: _Pets) -> None:
        draft.dirty = False
        data = draft.encoded()
        with self._mutex:
            self._writing = True
        try:
            fd = replace_durably(self.path, data)
        except BaseException:
            with self._mutex:
                self._writing = False
            raise
        with self._mutex:  # one step: a reader sees the old copy or the new one, and never re-reads ours
            self._hold(fd)
            self._pets = draft
            self._writing = False

    # ----------------------------------------------------------------- file identity and re-reads

    def _open(self) -> None:
        """Create the folder and an empty store if missing; read and validate the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Pet store folder {self.path.parent} can't be created: {exc.strerror}") from None
        with self._locked():
            remove_stale_temp_files(self.path)
            if not self.path.exists():
                with self._mutex:
                    self._hold(replace_durably(self.path, encode_file(0, [])))
            self._current()

    def _current(self) -> _Pets:
        """What the file holds now: our copy, re-read first if another process replaced or edited it."""
        with self._mutex:
            if self._writing:
                return self._pets
            try:
                st = os.stat(self.path)
            except FileNotFoundError:  # deleted while we run: start again, as at first start
                self._forget()
                return self._pets
            except OSError as exc:
                raise StoreError(f"Pet store file {self.path} can't be read: {exc.strerror}") from None
            if _identity(st) == self._identity:
                return self._pets
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except IsADirectoryError:
                raise StoreCorruptError(self.path, "it is a folder, not a file") from None
            try:
                with os.fdopen(os.dup(fd), "rb") as f:
                    data = f.read()
                seq, rows = parse_file(self.path, data, self._pets.lines)
            except BaseException:
                os.close(fd)
                self._forget()
                raise
            fresh = _Pets(seq)
            for pet_id, line, pet in rows:
                fresh.lines[pet_id] = line
                fresh.keys[pet_id] = self._pets.keys[pet_id] if pet is None else (pet.get("status"), pet.get("species"))
            fresh.order = sorted(fresh.lines, key=sort_key)
            self._pets = fresh
            self._hold(fd)
            return fresh

    def _hold(self, fd: int | None) -> None:
        """Keep `fd` open as the file our copy matches (its inode can't be reused while open)."""
        if self._held_fd is not None:
            os.close(self._held_fd)
        self._held_fd = fd
        self._identity = None if fd is None else _identity(os.fstat(fd))

    def _forget(self) -> None:
        self._hold(None)
        self._pets = _Pets()

    def _locked(self) -> _FileLocked:
        return _FileLocked(self)


class _FileLocked:
    """The cross-process lock, with a clear error when another process holds it too long."""

    def __init__(self, store: PetStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        try:
            self.store._file_lock.acquire()
        except Timeout:
            raise StoreBusyError(
                f"Pet store {self.store.path} is locked by another process (waited {LOCK_TIMEOUT_SECONDS:.0f} s)",
                public="The pet store is busy (locked by another process); try again shortly",
            ) from None
        except OSError as exc:
            raise StoreError(f"Pet store lock {self.store._lock_path} can't be taken: {exc.strerror}") from None

    def __exit__(self, *exc: object) -> None:
        self.store._file_lock.release()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _as_store_error(exc: BaseException, store: PetStore) -> BaseException:
    if isinstance(exc, StoreError) or not isinstance(exc, OSError):
        return exc
    return StoreError(f"Pet store file {store.path} can't be written: {exc.strerror or exc}")


_stores: dict[Path, PetStore] = {}
_stores_lock = threading.Lock()
# (DATA_DIR as set, working folder) -> store: every handler calls file_store(), and building and
# hashing a Path per call cost a tenth of a create's time in the server (py-spy, bench/writes.py).
_by_setting: dict[tuple[str | None, str], PetStore] = {}


def file_store() -> PetStore:
    """The pets.json of the current DATA_DIR, opened (and validated) on first use, then shared.

    Raises StoreError when pets.json can't be read; nothing is cached then, so a repaired file is
    picked up by the next call.
    """
    setting = (os.environ.get("DATA_DIR"), os.getcwd())
    store = _by_setting.get(setting)
    if store is not None:
        return store
    path = data_dir_from_env() / FILE_NAME
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = PetStore(path)
        _by_setting[setting] = store
    return store
