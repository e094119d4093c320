"""The pet store: one JSON file, `DATA_DIR/pets.json`, shared safely by every process.

The file keeps the spec's shape, `{"seq": n, "pets": {id: pet}}`, ids "1", "2", ... and times
in epoch milliseconds, and stays a file a person can read, grep and (with the server stopped)
edit by hand. It is written one pet per line:

    {
     "seq": 2,
     "pets": {
      "1": {"id": "1", "name": "Buddy", "species": "dog", ...},
      "2": {"id": "2", "name": "Whiskers", ...}
     }
    }

Why this layout: it is still plain JSON (any JSON tool reads it), but every pet line can be
kept in memory already serialized. A write then only serializes the pet that changed and
joins bytes, instead of re-encoding the whole store (`json.dumps(indent=...)` takes Python's
slow pure-Python encoder: ~0.25 s for 10,000 pets, ~3 s for 100,000). Reading is cheap too:
`get` decodes one cached line, and when another process has changed the file, lines that are
byte-for-byte what we already hold are not parsed again. A file in any other layout (say,
re-indented by a person) is read with `json.loads` and rewritten in this layout on the next
write.

Safety, for several processes at once (under real Motia every call is its own process):
- every read-modify-write holds a cross-process lock (`filelock.FileLock` on `pets.json.lock`)
  and first re-reads the file if it changed, so concurrent patches of one pet lose nothing;
- every write goes to a temp file in the same folder, is fsynced, `os.replace`d over
  `pets.json` and the folder fsynced: a crash at any instant leaves the old file or the new
  one, never a torn one;
- reads take no lock: they see the old file or the new one, never half of each, and re-read
  only when `(st_dev, st_ino, st_mtime_ns, st_size)` changed (a replace changes the inode);
- a file that does not parse raises `StoreCorruptError` naming it and the problem; it is
  never treated as empty and never overwritten. A missing file or folder is created.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

FILE_NAME = "pets.json"
DEFAULT_DATA_DIR = ".data"
DAY_MS = 24 * 60 * 60 * 1000
RETENTION_MS = 30 * DAY_MS
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
LOCK_TIMEOUT_SECONDS = 30.0
DELETED = "deleted"

# Fields every new pet has from the start, so clients always see the same keys; they
# follow id, the caller's fields, status, createdAt and updatedAt, in the spec's order.
NEW_PET_DEFAULTS: dict[str, Any] = {
    "notes": None,
    "nextFeedingAt": None,
    "deletedAt": None,
    "purgeAt": None,
    "profile": None,
}

Pet = dict[str, Any]
Clock = Callable[[], int]


class StoreError(Exception):
    """The store can't do what was asked; the message says why and names the file."""


class StoreCorruptError(StoreError):
    """pets.json exists but is not a store this code can read. It is left exactly as it is."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"Pet store file {path} is corrupt: {problem}. It was left untouched; "
            "fix it by hand or move it away (a missing file is created empty)."
        )


class StoreBusyError(StoreError):
    """Another process held the store's lock for longer than LOCK_TIMEOUT_SECONDS."""


class RestoreRefused(StoreError):
    """A restore that can't happen: the pet is not deleted, or its 30-day window has passed."""


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, the unit of every time field."""
    return time.time_ns() // 1_000_000


def iso_time(ms: int | float | None) -> str | None:
    """Epoch ms as the spec's log lines show times: `2022-01-02T00:00:00.000Z`."""
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Change:
    """A pet before and after a read-modify-write; `changed` is False when nothing was written."""

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


@dataclass(frozen=True)
class PurgeReport:
    """What the reaper did: deleted pets looked at, pets removed, and pets it could not judge."""

    scanned: int
    purged: list[Pet] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def sort_key(pet_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("2" before "10"), then any hand-made ids by text."""
    if pet_id.isascii() and pet_id.isdigit():
        return (0, int(pet_id), pet_id)
    return (1, 0, pet_id)


def encode_cursor(pet_id: str) -> str:
    """An opaque cursor meaning "after this id"; clients pass it back unchanged."""
    return base64.urlsafe_b64encode(pet_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor points after; ValueError for anything `encode_cursor` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        pet_id = raw.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor returned by this API") from None
    if not pet_id or not pet_id.isprintable() or encode_cursor(pet_id) != cursor:
        raise ValueError("not a cursor returned by this API")
    return pet_id


def _key_json(pet_id: str) -> bytes:
    return json.dumps(pet_id, ensure_ascii=False).encode()


def _line(pet_id: str, pet: Mapping[str, Any]) -> bytes:
    """One pet's line as held in memory: `  "1": {...},\n` (the last one loses its comma)."""
    return b"  " + _key_json(pet_id) + b": " + json.dumps(pet, ensure_ascii=False, allow_nan=False).encode() + b",\n"


def _value_of(pet_id: str, line: bytes) -> Pet:
    result: Pet = json.loads(line[2 + len(_key_json(pet_id)) + 2 : -2])
    return result


def _index_value(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_SEQ_LINE = re.compile(rb'^ "seq": (0|[1-9][0-9]*),$')


class _Fallback(Exception):
    """The file is not in our one-pet-per-line layout; read it with json.loads instead."""


class PetStore:
    """The pets in one pets.json. Use `get_store()`: one instance per file per process."""

    def __init__(self, path: Path, clock: Clock = now_ms) -> None:
        self.path = path
        self.clock = clock
        self._lock_path = path.with_name(path.name + ".lock")
        self._file_lock = FileLock(str(self._lock_path), timeout=LOCK_TIMEOUT_SECONDS)
        self._mutex = threading.RLock()
        self._stat_key: tuple[int, int, int, int] | None = None
        self._held_fd: int | None = None
        self._dirty = False  # memory changed in the current transaction, not yet on disk
        self._seq = 0
        self._lines: dict[str, bytes] = {}
        self._meta: dict[str, tuple[str | None, str | None]] = {}  # id -> (status, species)
        self._order: list[str] = []
        self._by_status: dict[str | None, list[str]] = {}
        self._by_species: dict[str | None, list[str]] = {}
        self._open()

    # ----------------------------------------------------------------- reading

    def get(self, pet_id: str) -> Pet | None:
        """The pet with this id (deleted ones included), or None. A fresh dict every call."""
        with self._mutex:
            self._refresh()
            line = self._lines.get(pet_id)
            return None if line is None else _value_of(pet_id, line)

    def list(
        self,
        *,
        status: str | None = None,
        species: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page:
        """A page of pets in id order, after `cursor`, optionally filtered.

        Soft-deleted pets are only listed when asked for with `status="deleted"`: they are
        on their way out and would clutter the shelter's view. The walk starts at the cursor
        in the smaller matching index (by status, by species, or all ids), so a page costs
        about `limit` pets, not the whole store. ValueError for a bad limit or cursor.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        after = decode_cursor(cursor) if cursor else None
        with self._mutex:
            self._refresh()
            base = self._order
            if status is not None:
                base = self._by_status.get(status, [])
            if species is not None:
                by_species = self._by_species.get(species, [])
                if status is None or len(by_species) < len(base):
                    base = by_species
            start = bisect.bisect_right(base, sort_key(after), key=sort_key) if after is not None else 0
            ids: list[str] = []
            has_more = False
            for i in range(start, len(base)):
                pet_id = base[i]
                pet_status, pet_species = self._meta[pet_id]
                if (status is None and pet_status == DELETED) or (status is not None and pet_status != status):
                    continue
                if species is not None and pet_species != species:
                    continue
                if len(ids) == limit:
                    has_more = True
                    break
                ids.append(pet_id)
            items = [_value_of(pet_id, self._lines[pet_id]) for pet_id in ids]
        return Page(items=items, next_cursor=encode_cursor(ids[-1]) if has_more else None)

    def count(self) -> int:
        """How many pets the file holds, deleted ones included."""
        with self._mutex:
            self._refresh()
            return len(self._lines)

    # ----------------------------------------------------------------- writing

    def create(self, fields: Mapping[str, Any]) -> Pet:
        """Store a new pet and return it: next id from `seq`, createdAt = updatedAt = now.

        `fields` are the validated payload (name, species, ageMonths); status starts as
        "new" and the other lifecycle fields as NEW_PET_DEFAULTS (null).
        """
        if "id" in fields:
            raise ValueError("the store assigns ids; `fields` must not contain `id`")
        with self._transaction():
            # max(): a hand-edited file may hold ids above its seq; never reuse one.
            seq = max(self._seq, self._max_numeric_id()) + 1
            pet_id = str(seq)
            stamp = self.clock()
            pet: Pet = {"id": pet_id, **fields}
            pet.setdefault("status", "new")
            pet.update(createdAt=stamp, updatedAt=stamp)
            for key, value in NEW_PET_DEFAULTS.items():
                pet.setdefault(key, value)
            self._put(pet_id, pet)
            self._seq = seq
        return pet

    def update(self, pet_id: str, patch: Mapping[str, Any]) -> Pet | None:
        """Apply a field-level patch under the lock and return the new pet (None: unknown id).

        Only the fields in `patch` change, so two processes patching different fields of the
        same pet at once both keep their change. `updatedAt` is set to now.
        """
        change = self.modify(pet_id, lambda _pet: patch)
        return None if change is None else change.after

    def modify(self, pet_id: str, decide: Callable[[Pet], Mapping[str, Any] | None]) -> Change | None:
        """Read-modify-write one pet atomically across processes.

        `decide(pet)` is called under the lock with the pet as it is now and returns the
        patch to apply, or None to leave the pet as it is (nothing is written). An exception
        it raises propagates and nothing is written. Returns None for an unknown id.
        This is how conditional changes (the orchestrator's "only if status is still X")
        stay correct when several processes act on one pet.
        """
        with self._transaction() as tx:
            line = self._lines.get(pet_id)
            if line is None:
                tx.skip_write()
                return None
            before = _value_of(pet_id, line)
            patch = decide(_value_of(pet_id, line))
            if patch is None:
                tx.skip_write()
                return Change(before, before)
            if "id" in patch and patch["id"] != pet_id:
                raise ValueError("a pet's id can't be changed")
            after = {**before, **patch}
            if "updatedAt" not in patch:
                after["updatedAt"] = self.clock()
            self._put(pet_id, after)
        return Change(before, after)

    def soft_delete(self, pet_id: str) -> Change | None:
        """Mark a pet deleted: deletedAt = now, purgeAt = now + 30 days. None: unknown id.

        The status it had is kept in `statusBeforeDelete` so that restore can put it back.
        Deleting a deleted pet changes nothing (its purge date is not pushed back).
        """

        def decide(pet: Pet) -> dict[str, Any] | None:
            if pet.get("status") == DELETED:
                return None
            stamp = self.clock()
            return {
                "status": DELETED,
                "statusBeforeDelete": pet.get("status"),
                "deletedAt": stamp,
                "purgeAt": stamp + RETENTION_MS,
                "updatedAt": stamp,
            }

        return self.modify(pet_id, decide)

    def restore(self, pet_id: str) -> Change | None:
        """Undo a soft delete within its window: back to the status it had. None: unknown id.

        Raises RestoreRefused when the pet is not deleted or its purgeAt has passed (the
        reaper may run at any moment then; a restore must not race it).
        """

        def decide(pet: Pet) -> dict[str, Any]:
            if pet.get("status") != DELETED:
                raise RestoreRefused(f"Pet {pet_id} is not deleted (status is {pet.get('status')})")
            purge_at = pet.get("purgeAt")
            if isinstance(purge_at, (int, float)) and purge_at <= self.clock():
                raise RestoreRefused(f"Pet {pet_id} can no longer be restored: its purge time has passed")
            return {
                "status": pet.get("statusBeforeDelete") or "new",
                "statusBeforeDelete": None,
                "deletedAt": None,
                "purgeAt": None,
            }

        return self.modify(pet_id, decide)

    def purge_due(self) -> PurgeReport:
        """Remove, in one write, every deleted pet whose purgeAt has passed.

        A deleted pet whose purgeAt is missing or not a number (a hand edit) is reported in
        `failed` and kept: better a pet too many than one deleted by mistake.
        """
        with self._transaction() as tx:
            now = self.clock()
            candidates = list(self._by_status.get(DELETED, []))
            purged: list[Pet] = []
            failed: list[tuple[str, str]] = []
            for pet_id in candidates:
                pet = _value_of(pet_id, self._lines[pet_id])
                purge_at = pet.get("purgeAt")
                if not isinstance(purge_at, (int, float)) or isinstance(purge_at, bool):
                    failed.append((pet_id, f"purgeAt is {purge_at!r}, not a time in epoch ms"))
                elif purge_at <= now:
                    purged.append(pet)
            for pet in purged:
                self._drop(pet["id"])
            if not purged:
                tx.skip_write()
        return PurgeReport(scanned=len(candidates), purged=purged, failed=failed)

    # ----------------------------------------------------------------- internals

    def _open(self) -> None:
        """Create the folder and an empty store if missing; read and validate the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._remove_stale_temp_files()
            if not self.path.exists():
                self._write()
            self._refresh()

    def _remove_stale_temp_files(self) -> None:
        """Temp files only live while their writer holds the lock, so any seen now are debris."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass

    def _locked(self) -> _Locked:
        return _Locked(self)

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def _max_numeric_id(self) -> int:
        for pet_id in reversed(self._order):  # hand-made ids sort last: skip past them
            kind, number, _ = sort_key(pet_id)
            if kind == 0:
                return number
        return 0

    def _put(self, pet_id: str, pet: Pet, line: bytes | None = None) -> None:
        """Set one pet in memory, keeping `_lines` in id order and the indexes in step."""
        status, species = _index_value(pet.get("status")), _index_value(pet.get("species"))
        old = self._meta.get(pet_id)
        line = line if line is not None else _line(pet_id, pet)  # may raise: before any change
        self._dirty = True
        self._lines[pet_id] = line
        if old is None:
            at = bisect.bisect_right(self._order, sort_key(pet_id), key=sort_key)
            self._order.insert(at, pet_id)
            if at != len(self._order) - 1:  # not appended: re-create the dict in id order
                self._lines = {i: self._lines[i] for i in self._order}
        else:
            _remove_sorted(self._by_status.get(old[0], []), pet_id)
            _remove_sorted(self._by_species.get(old[1], []), pet_id)
        self._meta[pet_id] = (status, species)
        bisect.insort(self._by_status.setdefault(status, []), pet_id, key=sort_key)
        bisect.insort(self._by_species.setdefault(species, []), pet_id, key=sort_key)

    def _drop(self, pet_id: str) -> None:
        self._dirty = True
        status, species = self._meta.pop(pet_id)
        del self._lines[pet_id]
        _remove_sorted(self._order, pet_id)
        _remove_sorted(self._by_status.get(status, []), pet_id)
        _remove_sorted(self._by_species.get(species, []), pet_id)

    def _invalidate(self) -> None:
        """Forget what we hold, so the next access re-reads the file (after a failed write)."""
        self._hold(None, None)
        self._seq = 0
        self._lines, self._meta = {}, {}
        self._order, self._by_status, self._by_species = [], {}, {}

    def _refresh(self) -> None:
        """Re-read the file if it is not the one we last read or wrote.

        We keep the file we hold in memory open (`_held_fd`): while it is open its inode
        can't be reused for a newer file, so an equal (device, inode) really is the same
        file, and mtime and size catch an edit in place.
        """
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            # Deleted while we run: start again from an empty store, as at first start.
            self._invalidate()
            return
        if _stat_key(st) == self._stat_key:
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            key = _stat_key(os.fstat(fd))
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
            self._load(data)
        except BaseException:
            os.close(fd)
            self._invalidate()
            raise
        self._hold(fd, key)

    def _hold(self, fd: int | None, key: tuple[int, int, int, int] | None) -> None:
        if self._held_fd is not None:
            _close_soon(self._held_fd)
        self._held_fd, self._stat_key = fd, key

    def close(self) -> None:
        """Let go of the open file (tests that open many stores call this)."""
        with self._mutex:
            self._invalidate()

    def _load(self, data: bytes) -> None:
        """Bring memory in line with the file's bytes `data`.

        Common case, another process changed or added a few pets: only those are parsed and
        re-indexed. Otherwise (pets removed, ids out of order, another layout) everything is
        rebuilt.
        """
        try:
            seq, rows = self._parse_lines(data)
        except _Fallback:
            seq, rows = self._parse_json(data)
        ids = [row[0] for row in rows]
        known = len(self._order)
        if known and ids[:known] == self._order and all(sort_key(a) < sort_key(b) for a, b in zip(ids[known - 1 :], ids[known:])):
            for pet_id, line, pet in rows:
                if pet is not None:
                    self._put(pet_id, pet, line)
        else:
            self._rebuild(rows)
        self._seq = seq

    def _rebuild(self, rows: list[tuple[str, bytes, Pet | None]]) -> None:
        metas: dict[str, tuple[str | None, str | None]] = {}
        lines: dict[str, bytes] = {}
        for pet_id, line, pet in rows:
            lines[pet_id] = line
            metas[pet_id] = self._meta[pet_id] if pet is None else (_index_value(pet.get("status")), _index_value(pet.get("species")))
        order = list(lines)
        keys = [sort_key(i) for i in order]
        if any(a > b for a, b in zip(keys, keys[1:])):
            order.sort(key=sort_key)
            lines = {pet_id: lines[pet_id] for pet_id in order}
        by_status: dict[str | None, list[str]] = {}
        by_species: dict[str | None, list[str]] = {}
        for pet_id in order:
            status, species = metas[pet_id]
            by_status.setdefault(status, []).append(pet_id)
            by_species.setdefault(species, []).append(pet_id)
        self._lines, self._meta = lines, metas
        self._order, self._by_status, self._by_species = order, by_status, by_species

    def _parse_lines(self, data: bytes) -> tuple[int, list[tuple[str, bytes, Pet | None]]]:
        """Read our own one-pet-per-line layout, parsing only the lines we don't already hold.

        Returns seq and, per pet in file order, (id, line, parsed pet or None if unchanged).
        Any deviation from the exact layout raises _Fallback (then json.loads decides whether
        the file is valid JSON at all). A line that fits the layout but is not valid JSON
        is a corrupt file.
        """
        rows = data.split(b"\n")
        if len(rows) < 5 or rows[0] != b"{" or rows[-1] != b"" or rows[-2] != b"}":
            raise _Fallback
        match = _SEQ_LINE.match(rows[1])
        if match is None:
            raise _Fallback
        seq = int(match.group(1))
        if rows[2] == b' "pets": {}' and len(rows) == 5:
            return seq, []
        if rows[2] != b' "pets": {' or rows[-3] != b" }" or len(rows) < 7:
            raise _Fallback
        held = self._lines
        result: list[tuple[str, bytes, Pet | None]] = []
        last = len(rows) - 4
        for n in range(3, last + 1):
            row = rows[n]
            # row is `  "<id>": {...},` (no comma on the last); a line we hold is that + "\n"
            # (or + ",\n" for the last), and then it needs no parsing.
            end = row.find(b'": ', 3)
            if end < 0 or row.find(b"\\", 3, end) >= 0 or row.find(b'"', 3, end) >= 0 or not row.startswith(b'  "'):
                raise _Fallback
            try:
                pet_id = row[3:end].decode()
            except UnicodeDecodeError:
                raise _Fallback from None
            tail = 1 if n < last else 2
            line = held.get(pet_id)
            if line is not None and len(line) == len(row) + tail and line.startswith(row):
                result.append((pet_id, line, None))
                continue
            if n < last:
                if not row.endswith(b","):
                    raise _Fallback
                row = row[:-1]
            try:
                pet = json.loads(row[end + 3 :])
            except ValueError as exc:
                raise StoreCorruptError(self.path, f"line {n + 1} (pet {pet_id!r}) is not valid JSON: {exc}") from None
            self._check_pet(pet_id, pet)
            result.append((pet_id, row + b",\n", pet))
        return seq, result

    def _parse_json(self, data: bytes) -> tuple[int, list[tuple[str, bytes, Pet | None]]]:
        """Read any valid JSON file of the right shape; anything else is a corrupt store."""
        if not data.strip():
            raise StoreCorruptError(self.path, 'the file is empty (an empty store is {"seq": 0, "pets": {}})')
        try:
            text = data.decode("utf-8-sig")  # an editor may have added a byte-order mark
        except UnicodeDecodeError as exc:
            raise StoreCorruptError(self.path, f"not UTF-8 text: {exc}") from None
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise StoreCorruptError(self.path, f"not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or "pets" not in doc or "seq" not in doc:
            raise StoreCorruptError(self.path, 'expected an object {"seq": <number>, "pets": {<id>: <pet>}}')
        seq, pets = doc["seq"], doc["pets"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise StoreCorruptError(self.path, f'"seq" must be a whole number >= 0, not {seq!r}')
        if not isinstance(pets, dict):
            raise StoreCorruptError(self.path, f'"pets" must be an object keyed by id, not {type(pets).__name__}')
        result: list[tuple[str, bytes, Pet | None]] = []
        for pet_id, pet in pets.items():
            self._check_pet(pet_id, pet)
            try:
                result.append((pet_id, _line(pet_id, pet), pet))
            except ValueError as exc:  # NaN / Infinity, which JSON can't hold
                raise StoreCorruptError(self.path, f"pet {pet_id!r}: {exc}") from None
        return seq, result

    def _check_pet(self, pet_id: str, pet: Any) -> None:
        if not isinstance(pet, dict):
            raise StoreCorruptError(self.path, f"pet {pet_id!r} is not an object")
        if pet.get("id") != pet_id:
            raise StoreCorruptError(self.path, f"pet under key {pet_id!r} has id {pet.get('id')!r}")

    def _write(self) -> None:
        """Write the whole store atomically and durably: temp file, fsync, replace, fsync dir.

        The pet lines are handed to the kernel as they are (writev), without first joining
        them into one big buffer: at 100,000 pets that copy alone costs tens of ms.
        """
        header = b'{\n "seq": %d,\n "pets": {' % self._seq
        if self._lines:
            parts = [header + b"\n", *self._lines.values(), b"\n }\n}\n"]
            parts[-2] = parts[-2][:-2]  # no comma after the last pet
        else:
            parts = [header + b"}\n}\n"]
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, parts)
            os.fsync(fd)
            key = _stat_key(os.fstat(fd))
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        self._hold(fd, key)  # the file we just wrote is the one we hold in memory
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class _Closer:
    """One background thread that closes the files handed to it, in order.

    Starting a thread per write instead cost more than the close it saved: `Thread.start` waits
    until the new thread has run, and under load that wait (for the GIL) took about a sixth of
    the server's time in POST benchmarks. A queue `put` does not wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def close_soon(self, fd: int) -> None:
        if self._thread is None or not self._thread.is_alive():  # first use, or a forked child
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._queue = queue.SimpleQueue()
                    self._thread = threading.Thread(target=self._run, args=(self._queue,), name="pets-json-close", daemon=True)
                    self._thread.start()
        self._queue.put(fd)

    @staticmethod
    def _run(fds: "queue.SimpleQueue[int]") -> None:
        while True:
            fd = fds.get()
            try:
                os.close(fd)
            except OSError:
                pass


_closer = _Closer()


def _close_soon(fd: int) -> None:
    """Close a file we no longer need, off the caller's path.

    It is usually the last handle on a pets.json that has since been replaced, so closing it
    makes the kernel free the old file's pages: several ms for a store of a few MB, which a
    request need not wait for.
    """
    _closer.close_soon(fd)


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 1024


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write every part, in order, in as few system calls as the kernel allows."""
    for start in range(0, len(parts), _IOV_MAX):
        chunk = parts[start : start + _IOV_MAX]
        written = os.writev(fd, chunk)
        if written < sum(map(len, chunk)):  # short write (disk nearly full, signal): finish slowly
            rest = memoryview(b"".join(chunk))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def _remove_sorted(ids: list[str], pet_id: str) -> None:
    i = bisect.bisect_left(ids, sort_key(pet_id), key=sort_key)
    if i < len(ids) and ids[i] == pet_id:
        del ids[i]


class _Locked:
    """Holds the in-process mutex and the cross-process file lock, in that order."""

    def __init__(self, store: PetStore) -> None:
        self.store = store

    def __enter__(self) -> _Locked:
        self.store._mutex.acquire()
        try:
            self.store._file_lock.acquire()
        except Timeout:
            self.store._mutex.release()
            raise StoreBusyError(
                f"Pet store {self.store.path} is locked by another process "
                f"(waited {LOCK_TIMEOUT_SECONDS:.0f} s for {self.store._lock_path})"
            ) from None
        except BaseException:
            self.store._mutex.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.store._file_lock.release()
        finally:
            self.store._mutex.release()


class _Transaction(_Locked):
    """Lock, bring the cache up to date, let the caller change it, then write the file.

    If the body raises after changing memory, or the write fails, the in-memory copy is
    dropped and re-read from the file next time, so memory never claims what the disk does
    not hold. A body that raises before changing anything (a refusal) leaves it alone.
    """

    def __init__(self, store: PetStore) -> None:
        super().__init__(store)
        self._write = True

    def skip_write(self) -> None:
        self._write = False

    def __enter__(self) -> _Transaction:
        super().__enter__()
        try:
            self.store._refresh()
        except BaseException:
            super().__exit__(None, None, None)
            raise
        self.store._dirty = False
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            if exc_type is not None:
                if self.store._dirty:  # a refusal before any change keeps the cache
                    self.store._invalidate()
            elif self._write:
                try:
                    self.store._write()
                except BaseException:
                    self.store._invalidate()
                    raise
        finally:
            super().__exit__(exc_type, *rest)


_stores: dict[Path, PetStore] = {}
_stores_lock = threading.Lock()
# (DATA_DIR as set, working folder if DATA_DIR is relative) -> store: every request calls
# get_store(), and building and hashing a Path (and a getcwd() system call) cost ~10 us, a
# tenth of a whole GET's time in the server.
_stores_by_setting: dict[tuple[str | None, str], PetStore] = {}


def data_dir() -> Path:
    """DATA_DIR from the environment (default `.data`), resolved against the working directory."""
    return Path(os.path.abspath(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR))


def get_store() -> PetStore:
    """The store for the current DATA_DIR: opened (and validated) on first use, then shared.

    Raises StoreCorruptError when pets.json can't be read; nothing is cached then, so a
    repaired file is picked up by the next call.
    """
    raw = os.environ.get("DATA_DIR")
    setting = (raw, "") if raw and os.path.isabs(raw) else (raw, os.getcwd())  # relative: depends on the folder
    store = _stores_by_setting.get(setting)
    if store is not None:
        return store
    path = data_dir() / FILE_NAME
    store = _stores.get(path)
    if store is None:
        with _stores_lock:
            store = _stores.get(path)
            if store is None:
                store = PetStore(path)
                _stores[path] = store
    _stores_by_setting[setting] = store
    return store
