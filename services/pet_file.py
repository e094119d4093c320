"""The file format of `pets.json`: how pets become bytes and back (written by steprunner.durable_file).

The file keeps the spec's shape, `{"seq": n, "pets": {id: pet}}`, and is written one pet per line:

    {
     "seq": 2,
     "pets": {
      "1": {"id": "1", "name": "Buddy", "species": "dog", ...},
      "2": {"id": "2", "name": "Whiskers", ...}
     }
    }

It is plain JSON (any tool reads it, a person can edit it with the server stopped), and every pet
line can be kept in memory already encoded: a write encodes only the pets that changed and joins
bytes, and a re-read after another process wrote parses only the lines that differ from what we
hold. A file in any other layout (re-indented by hand, say) is read with `json.loads` and
rewritten in this layout on the next write. Anything that is not a store is `StoreCorruptError`,
never an empty store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from services.store_contract import Pet, StoreError

# pets.json is replaced with the runtime's helper; the store and move_to_database import it from here
from steprunner.durable_file import replace_durably as replace_durably
from steprunner.durable_file import temp_files

FILE_NAME = "pets.json"

# One pet as read from a file: (id, its encoded line, the pet or None when the line is one we hold).
Row = tuple[str, bytes, Pet | None]


class StoreCorruptError(StoreError):
    """pets.json exists but is not a store this code can read. It is left exactly as it is."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"Pet store file {path} is corrupt: {problem}. It was left untouched; "
            "fix it by hand or move it away (a missing file is created empty).",
            public=(
                f"The pet store file {FILE_NAME} is corrupt: {problem}. It was left untouched; the server log names it."
            ),
        )


class _OtherLayout(Exception):
    """The file is not in our one-pet-per-line layout; read it with json.loads instead."""


_SEQ_LINE = re.compile(rb'^ "seq": (0|[1-9][0-9]*),$')


def encode_line(pet_id: str, pet: Mapping[str, Any]) -> bytes:
    """One pet's line, `  "1": {...}`, without the comma that separates it from the next."""
    key = json.dumps(pet_id, ensure_ascii=False)
    return f"  {key}: {json.dumps(pet, ensure_ascii=False, allow_nan=False)}".encode()


def decode_line(pet_id: str, line: bytes) -> Pet:
    """The pet a line holds, as a fresh dict."""
    prefix = 2 + len(json.dumps(pet_id, ensure_ascii=False).encode()) + 2
    result: Pet = json.loads(line[prefix:])
    return result


def encode_file(seq: int, lines: Iterable[bytes]) -> bytes:
    """The whole file, pets in the order given."""
    body = b",\n".join(lines)
    if not body:
        return b'{\n "seq": %d,\n "pets": {}\n}\n' % seq
    # join, not %: formatting would copy the whole body once more while holding the GIL
    return b"".join((b'{\n "seq": %d,\n "pets": {\n' % seq, body, b"\n }\n}\n"))


def parse_file(path: Path, data: bytes, held: Mapping[str, bytes]) -> tuple[int, list[Row]]:
    """seq and the pets of a file's bytes, in file order. Lines equal to one in `held` are not parsed
    again (their row carries None). Raises StoreCorruptError for anything that is not a store."""
    try:
        return _parse_lines(path, data, held)
    except _OtherLayout:
        return _parse_json(path, data)


def _parse_lines(path: Path, data: bytes, held: Mapping[str, bytes]) -> tuple[int, list[Row]]:
    rows = data.split(b"\n")
    if len(rows) < 5 or rows[0] != b"{" or rows[-1] != b"" or rows[-2] != b"}":
        raise _OtherLayout
    match = _SEQ_LINE.match(rows[1])
    if match is None:
        raise _OtherLayout
    seq = int(match.group(1))
    if rows[2] == b' "pets": {}' and len(rows) == 5:
        return seq, []
    if rows[2] != b' "pets": {' or rows[-3] != b" }" or len(rows) < 7:
        raise _OtherLayout
    result: list[Row] = []
    last = len(rows) - 4
    for n in range(3, last + 1):
        line = rows[n]
        if n < last:
            if not line.endswith(b","):
                raise _OtherLayout
            line = line[:-1]
        end = line.find(b'": ', 3)
        if end < 0 or not line.startswith(b'  "') or b"\\" in line[3:end] or b'"' in line[3:end]:
            raise _OtherLayout
        try:
            pet_id = line[3:end].decode()
        except UnicodeDecodeError:
            raise _OtherLayout from None
        if held.get(pet_id) == line:
            result.append((pet_id, line, None))
            continue
        try:
            pet = json.loads(line[end + 3 :])
        except ValueError as exc:
            raise StoreCorruptError(path, f"line {n + 1} (pet {pet_id!r}) is not valid JSON: {exc}") from None
        _check_pet(path, pet_id, pet)
        result.append((pet_id, line, pet))
    return seq, result


def _parse_json(path: Path, data: bytes) -> tuple[int, list[Row]]:
    if not data.strip():
        raise StoreCorruptError(path, 'the file is empty (an empty store is {"seq": 0, "pets": {}})')
    try:
        text = data.decode("utf-8-sig")  # an editor may have added a byte-order mark
    except UnicodeDecodeError as exc:
        raise StoreCorruptError(path, f"not UTF-8 text: {exc}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StoreCorruptError(path, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "pets" not in doc or "seq" not in doc:
        raise StoreCorruptError(path, 'expected an object {"seq": <number>, "pets": {<id>: <pet>}}')
    seq, pets = doc["seq"], doc["pets"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise StoreCorruptError(path, f'"seq" must be a whole number >= 0, not {seq!r}')
    if not isinstance(pets, dict):
        raise StoreCorruptError(path, f'"pets" must be an object keyed by id, not {type(pets).__name__}')
    result: list[Row] = []
    for pet_id, pet in pets.items():
        _check_pet(path, pet_id, pet)
        try:
            result.append((pet_id, encode_line(pet_id, pet), pet))
        except ValueError as exc:  # NaN / Infinity, which JSON can't hold
            raise StoreCorruptError(path, f"pet {pet_id!r}: {exc}") from None
    return seq, result


def _check_pet(path: Path, pet_id: str, pet: Any) -> None:
    if not isinstance(pet, dict):
        raise StoreCorruptError(path, f"pet {pet_id!r} is not an object")
    if pet.get("id") != pet_id:
        raise StoreCorruptError(path, f"pet under key {pet_id!r} has id {pet.get('id')!r}")


def remove_stale_temp_files(path: Path) -> None:
    """Temp files live only while their writer holds the lock, so any seen under the lock are debris."""
    for leftover in temp_files(path):
        leftover.unlink(missing_ok=True)
