"""The pet store's contract, on both stores, and the JSON store's own promises, on real files with
real locks and real processes.

A test that takes the store alone is the contract: it runs on the JSON store and on PostgreSQL
(services/pet_store_pg.py, a throwaway cluster: steprunner.testing.postgres). One that also takes
`path` is about the file and runs on the JSON store only. PostgreSQL's own promises (several
nodes, one sequence, row locks) are in test_pet_store_pg.py.

The rules of soft delete, restore and purge are `services/decisions.py` (unit-tested in
test_decisions.py); here they run through the store, as the steps run them.

What a user of the store relies on: the file keeps the spec's shape and stays readable; ids
and times are what the spec says; patches from several processes never lose each other;
a crash never leaves a torn file; a corrupt file is reported, never emptied or overwritten;
listing pages through everything exactly once; soft delete, restore and purge keep their
promises.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from services import decisions
from services.decisions import DAY_MS, Outcome, intake
from services.paging import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from services.pet_file import StoreCorruptError
from services.pet_store_file import PetStore
from services.pet_store_pg import PgPetStore
from services.store import get_store
from services.store_contract import Patch
from steprunner.testing.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = 1_640_995_200_000  # 2022-01-01T00:00:00Z, the spec's example time


class FakeClock:
    """A clock the test moves by hand, so windows of 30 days take no time."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "pets.json"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        about_the_file = "path" in inspect.signature(metafunc.function).parameters
        metafunc.parametrize("store", ["json"] if about_the_file else ["json", "postgres"], indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest, path: Path, clock: FakeClock):
    if request.param == "postgres":
        s = PgPetStore(request.getfixturevalue("database_url"), clock=clock)
    else:
        s = PetStore(path, clock=clock)
    yield s
    s.close()


def buddy(**extra) -> dict:
    return intake({"name": "Buddy", "species": "dog", "ageMonths": 24, **extra})


def soft_delete(store: PetStore, pet_id: str):
    return store.modify(pet_id, lambda pet: decisions.soft_delete(pet, store.clock()))


def restore(store: PetStore, pet_id: str):
    return store.modify(pet_id, lambda pet: decisions.restore(pet, store.clock()))


def purge_due(store: PetStore) -> tuple[list[dict], list[tuple[str, str]], int]:
    """(purged pets, [(id, problem)], how many deleted pets were judged), as the reaper sees it."""
    judged = store.purge(lambda pet: decisions.purge_verdict(pet, store.clock()))
    return [p for p, v in judged if v.purge], [(p["id"], v.problem) for p, v in judged if v.problem], len(judged)


def read_doc(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ shape and ids


def test_a_missing_folder_and_file_are_created_as_an_empty_store(path: Path) -> None:
    assert not path.parent.exists()
    store = PetStore(path)
    assert read_doc(path) == {"seq": 0, "pets": {}}
    assert store.count() == 0
    store.close()


def test_create_assigns_ids_from_seq_and_stamps_times(store: PetStore, clock: FakeClock) -> None:
    first = store.create(buddy())
    clock.now += 5
    second = store.create({"name": "Whiskers", "species": "cat", "ageMonths": 12})

    assert first == {
        "id": "1",
        "name": "Buddy",
        "species": "dog",
        "ageMonths": 24,
        "status": "new",
        "notes": None,
        "nextFeedingAt": None,
        "deletedAt": None,
        "purgeAt": None,
        "profile": None,
        "enrichmentStartedAt": None,
        "flags": [],
        "reviews": [],
        "treatmentPlan": None,
        "adoptionPosting": None,
        "timelineSeq": 0,
        "timelineOutbox": [],
        "createdAt": T0,
        "updatedAt": T0,
    }
    assert second["id"] == "2" and second["createdAt"] == second["updatedAt"] == T0 + 5
    assert store.all() == [first, second]
    if isinstance(store, PetStore):  # and in the spec's shape
        assert read_doc(store.path) == {"seq": 2, "pets": {"1": first, "2": second}}


def test_the_file_is_indented_json_with_one_pet_per_line(store: PetStore, path: Path) -> None:
    """A person can read it, grep it, and diff it pet by pet."""
    for name in ("Buddy", "Whiskers", "Tweety"):
        store.create(buddy(name=name))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["{", ' "seq": 3,', ' "pets": {']
    assert lines[-2:] == [" }", "}"]
    pet_lines = lines[3:-2]
    assert len(pet_lines) == 3
    assert pet_lines[0].startswith('  "1": {"id": "1", "name": "Buddy"')


def test_non_ascii_names_are_stored_readably(store: PetStore, path: Path) -> None:
    store.create(buddy(name="Çilek 🐾"))
    assert "Çilek 🐾" in path.read_text(encoding="utf-8")
    assert store.get("1")["name"] == "Çilek 🐾"


def test_get_returns_a_fresh_copy_and_none_for_unknown_ids(store: PetStore) -> None:
    store.create(buddy())
    pet = store.get("1")
    pet["name"] = "changed by the caller"
    assert store.get("1")["name"] == "Buddy"
    assert store.get("99") is None
    assert store.get("") is None


def test_ids_are_never_reused_after_a_purge(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    store.create(buddy())
    soft_delete(store, "2")
    clock.now += 31 * DAY_MS
    assert [p["id"] for p in purge_due(store)[0]] == ["2"]
    assert store.create(buddy())["id"] == "3"


def test_a_hand_edited_file_in_another_layout_is_read_and_rewritten(path: Path) -> None:
    """A person may re-indent the file (jq, an editor) or add a pet by hand."""
    path.parent.mkdir(parents=True)
    pets = {
        "10": {"id": "10", "name": "Ten", "species": "cat", "ageMonths": 3, "status": "available"},
        "2": {"id": "2", "name": "Two", "species": "dog", "ageMonths": 5, "status": "new"},
    }
    path.write_text(json.dumps({"seq": 3, "pets": pets}, indent=2))
    store = PetStore(path)
    assert store.get("10")["name"] == "Ten"
    assert [p["id"] for p in store.list().items] == ["2", "10"]
    created = store.create(buddy())
    assert created["id"] == "11", "a new id must be above every id in the file, even above seq"
    doc = read_doc(path)
    assert doc["seq"] == 11 and set(doc["pets"]) == {"2", "10", "11"}
    store.close()


def test_an_edit_in_place_is_seen_on_the_next_read(store: PetStore, path: Path) -> None:
    store.create(buddy())
    text = path.read_text(encoding="utf-8")
    with open(path, "r+", encoding="utf-8") as f:  # same inode, as some editors save
        f.write(text.replace('"Buddy"', '"Rocky"'))
    assert store.get("1")["name"] == "Rocky"


def test_leftover_temp_files_from_a_crashed_writer_are_removed(path: Path) -> None:
    path.parent.mkdir(parents=True)
    debris = path.parent / ".pets.json.12345.678.tmp"
    debris.write_text('{"seq": 1, "pe')
    PetStore(path).close()
    assert not debris.exists()
    assert read_doc(path) == {"seq": 0, "pets": {}}


def test_a_file_deleted_while_running_is_recreated(store: PetStore, path: Path) -> None:
    store.create(buddy())
    path.unlink()
    assert store.get("1") is None
    assert store.create(buddy())["id"] == "1"
    assert set(read_doc(path)["pets"]) == {"1"}


def test_get_store_is_one_store_per_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATA_DIR", raising=False)
    default = get_store()
    assert default.path == tmp_path / ".data" / "pets.json" and default.path.exists()
    assert get_store() is default
    monkeypatch.setenv("DATA_DIR", "elsewhere")
    other = get_store()
    assert other.path == tmp_path / "elsewhere" / "pets.json"
    assert other is not default


# ------------------------------------------------------------------ corrupt files


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"seq": 1, "pets": {"1": {"id": "1", ', "not valid JSON"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"[]", 'expected an object {"seq"'),
        (b'{"seq": 1}', 'expected an object {"seq"'),
        (b'{"seq": "1", "pets": {}}', '"seq" must be a whole number'),
        (b'{"seq": 1, "pets": []}', '"pets" must be an object'),
        (b'{"seq": 1, "pets": {"1": "Buddy"}}', "pet '1' is not an object"),
        (b'{"seq": 1, "pets": {"1": {"id": "2"}}}', "pet under key '1' has id '2'"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_corrupt_file_is_reported_by_name_and_left_untouched(path: Path, content: bytes, problem: str) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError) as caught:
        PetStore(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)
    assert path.read_bytes() == content


def test_a_file_corrupted_while_running_fails_reads_and_writes_and_is_never_overwritten(
    store: PetStore, path: Path
) -> None:
    store.create(buddy())
    broken = path.read_bytes()[:-20]  # a truncated copy, as a bad hand edit might leave it
    path.write_bytes(broken)
    for attempt in (
        lambda: store.get("1"),
        lambda: store.list(),
        lambda: store.create(buddy()),
        lambda: store.update("1", {"notes": "x"}),
    ):
        with pytest.raises(StoreCorruptError, match=str(path)):
            attempt()
    assert path.read_bytes() == broken


def test_a_bad_line_in_the_one_pet_per_line_layout_names_the_line(store: PetStore, path: Path) -> None:
    store.create(buddy())
    store.create(buddy())
    text = path.read_text(encoding="utf-8").replace('"name": "Buddy", "species"', '"name": "Buddy" "species"', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StoreCorruptError, match=r"line 4 \(pet '1'\) is not valid JSON"):
        store.get("2")


def test_a_repaired_file_is_picked_up(store: PetStore, path: Path) -> None:
    store.create(buddy())
    good = path.read_bytes()
    path.write_bytes(b"{oops")
    with pytest.raises(StoreCorruptError):
        store.get("1")
    path.write_bytes(good)
    assert store.get("1")["name"] == "Buddy"


# ------------------------------------------------------------------ updates


def test_update_patches_only_the_given_fields_and_stamps_updated_at(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    clock.now += 1000
    after = store.update("1", {"notes": "Welcome!"})
    assert after == {**store.get("1")}
    assert after["notes"] == "Welcome!" and after["name"] == "Buddy"
    assert after["updatedAt"] == T0 + 1000 and after["createdAt"] == T0
    assert store.update("404", {"notes": "x"}) is None


def test_an_update_can_not_change_the_id(store: PetStore) -> None:
    store.create(buddy())
    with pytest.raises(ValueError):
        store.update("1", {"id": "7"})
    with pytest.raises(ValueError):
        store.create({"id": "7", **buddy()})


def test_modify_that_decides_nothing_writes_nothing(store: PetStore, path: Path) -> None:
    store.create(buddy())
    before = os.stat(path)
    change = store.modify("1", lambda pet: Patch(None))
    assert change is not None and not change.changed
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_modify_that_raises_writes_nothing(store: PetStore) -> None:
    store.create(buddy())
    content = store.all()

    def refuse(pet: dict) -> dict:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.modify("1", refuse)
    assert store.all() == content
    assert store.get("1")["status"] == "new"


def test_modify_sees_the_pet_as_it_is_now_and_returns_before_and_after(store: PetStore) -> None:
    store.create(buddy())
    change = store.modify("1", lambda pet: Patch({"status": "in_quarantine"} if pet["status"] == "new" else None))
    assert (change.before["status"], change.after["status"], change.changed) == ("new", "in_quarantine", True)
    again = store.modify("1", lambda pet: Patch({"status": "in_quarantine"} if pet["status"] == "new" else None))
    assert not again.changed


def test_two_stores_on_one_file_see_each_others_changes(path: Path) -> None:
    """Two instances stand in for two processes: each re-reads when the other wrote."""
    a, b = PetStore(path), PetStore(path)
    a.create(buddy())
    assert b.get("1")["name"] == "Buddy"
    b.update("1", {"notes": "from b"})
    a.update("1", {"profile": {"bio": "from a"}})
    assert b.get("1")["notes"] == "from b" and b.get("1")["profile"] == {"bio": "from a"}
    assert b.create(buddy())["id"] == "2"
    assert a.create(buddy())["id"] == "3"
    assert [p["id"] for p in a.list().items] == ["1", "2", "3"]
    soft_delete(b, "1")
    assert a.list().items[0]["id"] == "2"
    a.close()
    b.close()


def test_reads_do_not_reparse_an_unchanged_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing happens when the file changed (another process wrote), not on every request,
    and not after a refused change either."""
    a, b = PetStore(path), PetStore(path)
    a.create(buddy())
    b.get("1")
    parses: list[int] = []
    import services.pet_store_file as file_store

    original = file_store.parse_file
    monkeypatch.setattr(file_store, "parse_file", lambda *args: (parses.append(1), original(*args))[1])

    for _ in range(50):
        b.get("1")
        b.list()
    assert parses == []

    assert restore(b, "1").decision.outcome is Outcome.REJECT
    b.get("1")
    assert parses == []

    a.update("1", {"notes": "changed elsewhere"})
    assert b.get("1")["notes"] == "changed elsewhere"
    b.get("1")
    assert len(parses) == 1
    a.close()
    b.close()


# ------------------------------------------------------------------ listing


def test_list_pages_through_every_pet_once_in_numeric_id_order(store: PetStore) -> None:
    for i in range(45):
        store.create(buddy(name=f"Pet {i + 1}"))
    seen, cursor, pages = [], None, 0
    while True:
        page = store.list(limit=20, cursor=cursor)
        seen += [p["id"] for p in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [str(i) for i in range(1, 46)]
    assert pages == 3


def test_list_default_page_size_is_20_and_max_is_100(store: PetStore) -> None:
    for _ in range(25):
        store.create(buddy())
    assert len(store.list().items) == 20
    assert len(store.list(limit=MAX_PAGE_SIZE).items) == 25
    for bad in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(ValueError):
            store.list(limit=bad)


def test_the_last_full_page_has_no_next_cursor(store: PetStore) -> None:
    for _ in range(4):
        store.create(buddy())
    assert store.list(limit=4).next_cursor is None
    assert store.list(limit=3).next_cursor is not None


def test_list_filters_by_status_and_species(store: PetStore) -> None:
    store.create(buddy())  # 1 dog new
    store.create(buddy(species="cat"))  # 2 cat new
    store.create(buddy(species="cat"))  # 3 cat -> available
    store.create(buddy())  # 4 dog -> available
    store.update("3", {"status": "available"})
    store.update("4", {"status": "available"})
    ids = lambda page: [p["id"] for p in page.items]  # noqa: E731
    assert ids(store.list(status="available")) == ["3", "4"]
    assert ids(store.list(species="cat")) == ["2", "3"]
    assert ids(store.list(status="available", species="dog")) == ["4"]
    assert ids(store.list(status="adopted")) == []
    assert ids(store.list(species="bird")) == []
    page = store.list(status="available", limit=1)
    assert ids(page) == ["3"] and ids(store.list(status="available", limit=1, cursor=page.next_cursor)) == ["4"]


def test_deleted_pets_are_listed_only_when_asked_for(store: PetStore) -> None:
    for _ in range(3):
        store.create(buddy())
    soft_delete(store, "2")
    assert [p["id"] for p in store.list().items] == ["1", "3"]
    assert [p["id"] for p in store.list(status="deleted").items] == ["2"]


def test_cursors_are_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor("42")) == "42"
    for bad in ("", "not base64!", "%%%", encode_cursor("42") + "A"):
        with pytest.raises(ValueError):
            decode_cursor(bad)


def test_a_cursor_still_works_after_its_pet_is_purged(store: PetStore, clock: FakeClock) -> None:
    for _ in range(4):
        store.create(buddy())
    page = store.list(limit=2)
    soft_delete(store, "2")
    clock.now += 31 * DAY_MS
    purge_due(store)
    assert [p["id"] for p in store.list(limit=2, cursor=page.next_cursor).items] == ["3", "4"]


# ------------------------------------------------------------------ soft delete, restore, purge


def test_soft_delete_sets_deleted_and_a_purge_time_30_days_on(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    store.update("1", {"status": "available"})
    clock.now += 60_000
    change = soft_delete(store, "1")
    pet = change.after
    assert pet["status"] == "deleted"
    assert pet["deletedAt"] == T0 + 60_000
    assert pet["purgeAt"] == pet["deletedAt"] + 30 * DAY_MS
    assert pet["statusBeforeDelete"] == "available"
    assert store.get("1") == pet
    assert soft_delete(store, "404") is None


def test_deleting_twice_keeps_the_first_purge_time(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    first = soft_delete(store, "1").after
    clock.now += DAY_MS
    again = soft_delete(store, "1")
    assert not again.changed and again.after["purgeAt"] == first["purgeAt"]


def test_restore_brings_back_the_status_before_delete(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    store.update("1", {"status": "pending"})
    soft_delete(store, "1")
    clock.now += 29 * DAY_MS
    pet = restore(store, "1").after
    assert pet["status"] == "pending"
    assert pet["deletedAt"] is None and pet["purgeAt"] is None and pet["statusBeforeDelete"] is None
    assert restore(store, "404") is None


def test_restore_is_refused_for_a_pet_that_is_not_deleted(store: PetStore) -> None:
    store.create(buddy())
    refused = restore(store, "1")
    assert refused.decision.outcome is Outcome.REJECT and "is not deleted" in refused.decision.reason
    assert not refused.changed


def test_restore_is_refused_once_the_purge_time_has_passed(store: PetStore, clock: FakeClock) -> None:
    store.create(buddy())
    soft_delete(store, "1")
    clock.now += 30 * DAY_MS
    refused = restore(store, "1")
    assert refused.decision.outcome is Outcome.REJECT and "can no longer be restored" in refused.decision.reason
    assert store.get("1")["status"] == "deleted"


def test_purge_removes_only_deleted_pets_whose_time_has_come(store: PetStore, clock: FakeClock) -> None:
    for _ in range(5):
        store.create(buddy())
    soft_delete(store, "1")  # due
    clock.now += 10 * DAY_MS
    soft_delete(store, "2")  # not due yet
    soft_delete(store, "3")  # purgeAt broken by hand below
    store.update("3", {"purgeAt": "soon"})
    store.update("4", {"purgeAt": T0})  # not deleted: never purged, whatever purgeAt says
    clock.now = T0 + 30 * DAY_MS
    purged, failed, scanned = purge_due(store)
    assert [p["id"] for p in purged] == ["1"]
    assert purged[0]["name"] == "Buddy"
    assert scanned == 3
    assert [pet_id for pet_id, _ in failed] == ["3"]
    assert [p["id"] for p in store.all()] == ["2", "3", "4", "5"]


def test_purge_with_nothing_due_does_not_write(store: PetStore, path: Path) -> None:
    store.create(buddy())
    before = os.stat(path)
    assert purge_due(store) == ([], [], 0)
    assert os.stat(path).st_ino == before.st_ino


# ------------------------------------------------------------------ several processes


WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from services.pet_store_file import PetStore
    from services.store_contract import Patch

    path, worker, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = PetStore(path)
    for i in range(rounds):
        store.create({"name": f"w{worker}-{i}", "species": "dog", "ageMonths": 1})
        # a field only this worker writes: a lost update would show as a missing or old value
        store.update("1", {f"worker{worker}": i + 1})
        # a read-modify-write of a shared counter: a lost update would show in the total
        store.modify("1", lambda pet: Patch({"counter": pet.get("counter", 0) + 1}))
    """
)


def test_processes_hammering_one_file_lose_nothing(path: Path) -> None:
    store = PetStore(path)
    store.create(buddy(counter=0))
    workers, rounds = 4, 40
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(w), str(rounds)], cwd=REPO_ROOT)
        for w in range(workers)
    ]
    for proc in procs:
        assert proc.wait(timeout=90) == 0

    doc = read_doc(path)
    pets = doc["pets"]
    total = 1 + workers * rounds
    assert doc["seq"] == total
    assert sorted(pets, key=int) == [str(i) for i in range(1, total + 1)], "ids unique and contiguous"
    names = sorted(p["name"] for p in pets.values() if p["id"] != "1")
    assert names == sorted(f"w{w}-{i}" for w in range(workers) for i in range(rounds))
    first = store.get("1")
    assert first["counter"] == workers * rounds
    assert all(first[f"worker{w}"] == rounds for w in range(workers))
    store.close()


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from services.pet_store_file import PetStore

    store = PetStore(Path(sys.argv[1]))
    while True:
        store.create({"name": "x" * 200, "species": "cat", "ageMonths": 1})
    """
)


def test_a_writer_killed_mid_write_leaves_a_whole_file(path: Path) -> None:
    """SIGKILL at an arbitrary instant: the file is the old version or the new one."""
    PetStore(path).close()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=REPO_ROOT)
    try:
        wait_until(lambda: read_doc(path)["seq"] >= 150, timeout=60, message="the writer to get going")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    doc = read_doc(path)  # parses: not torn
    assert doc["seq"] == len(doc["pets"]) >= 150
    store = PetStore(path)
    assert store.count() == doc["seq"]
    assert not list(path.parent.glob(".pets.json.*.tmp")), "debris of the killed write is cleaned up"
    store.close()
