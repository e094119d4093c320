"""Fill a DATA_DIR with N pets in one write, in the store's own file layout.

Why not POST them: 100,000 creates through the API would each rewrite the whole file (and
set off three more writes through the event chain), hours of work to reach a starting
point. Instead the pets are built as the event chain leaves them (status `in_quarantine`,
welcome notes, next feeding time, the fallback profile) and written once with the store's own
file format (`services/pet_file.py`), byte for byte as the server would have written it. A
server started afterwards reads it like any other store.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.decisions import DAY_MS  # noqa: E402
from services.pet_file import FILE_NAME, encode_file, encode_line, replace_durably  # noqa: E402
from services.profile import fallback_profile  # noqa: E402

SPECIES = ("dog", "cat", "bird", "other")
NAMES = ("Buddy", "Whiskers", "Tweety", "Rex", "Luna", "Milo", "Coco", "Bella", "Max", "Nala")
WELCOME_NOTES = "Welcome to our pet store! We'll take great care of this pet."


def make_pet(pet_id: int, stamp: int) -> dict[str, object]:
    """One pet as it looks after its event chain ran: in quarantine, with notes and a profile."""
    name = f"{NAMES[pet_id % len(NAMES)]} {pet_id}"
    species = SPECIES[pet_id % len(SPECIES)]
    created = stamp - 1000 * pet_id
    return {
        "id": str(pet_id),
        "name": name,
        "species": species,
        "ageMonths": pet_id % 180 + 1,
        "status": "in_quarantine",
        "createdAt": created,
        "updatedAt": created + 12,
        "notes": WELCOME_NOTES,
        "nextFeedingAt": created + DAY_MS,
        "deletedAt": None,
        "purgeAt": None,
        "profile": fallback_profile(name, species).model_dump(),
        "lastStatusRequestId": None,
    }


def seed(data_dir: Path, count: int) -> Path:
    """Write `data_dir/pets.json` holding pets "1".."count" (replacing any file there); returns its path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    stamp = time.time_ns() // 1_000_000
    lines = (encode_line(str(pet_id), make_pet(pet_id, stamp)) for pet_id in range(1, count + 1))
    os.close(replace_durably(path, encode_file(count, lines)))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".data")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    started = time.perf_counter()
    written = seed(target, n)
    print(f"{written}: {n} pets, {written.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f}s")
