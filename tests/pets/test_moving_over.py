"""Moving a shelter from its DATA_DIR onto PostgreSQL and back: `python -m services.move_to_database`.

A shelter run on the JSON store (pets.json, the SQLite journal) is stopped, imported into a
database, and carries on there: the same pets and ids, the next id where the file's sequence left
off, their timelines, and the events that were still pending run on the database. Exporting gives
the file the JSON store reads back. A database that already holds pets is refused unless told to replace it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.pets.pets_api import create, get, list_all, request_status, settled, timeline_of, wait_for, wait_for_status
from tests.support.server import PYTHON, REPO_ROOT, base_env, run_cli


def move(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "services.move_to_database", *args],
        cwd=REPO_ROOT,
        env=base_env(data_dir, {"DATABASE_URL": url}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def shelter_on_files(
    server_factory: Any, data_dir: Path, names: list[str], timelines: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Pets made on the JSON store, each through its chain (their timelines put in `timelines`); the
    server is then stopped."""
    server = server_factory(data_dir)
    with server.client() as http:
        pets = [create(http, name=name) for name in names]
        settled_pets = [wait_for(http, pet["id"], settled, f"{pet['name']} to settle") for pet in pets]
        assert http.delete(f"/py/pets/{pets[-1]['id']}").status_code in (200, 202)  # a soft-deleted one moves too
        settled_pets[-1] = wait_for(http, pets[-1]["id"], lambda p: p["status"] == "deleted", "the soft delete")
        if timelines is not None:
            timelines.update({pet["id"]: timeline(http, pet["id"]) for pet in pets})
    server.stop()
    return settled_pets


def timeline(http: Any, pet_id: str) -> list[dict[str, Any]]:
    return timeline_of(http, pet_id)


def test_pets_move_to_the_database_keeping_ids_and_sequence_and_export_back_to_the_same_file(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    files = tmp_path / "on-files"
    timelines: dict[str, Any] = {}
    pets = shelter_on_files(server_factory, files, ["Rex", "Tom", "Kit"], timelines)
    original = json.loads((files / "pets.json").read_text(encoding="utf-8"))

    moved = move(files, database_url, "import")
    assert moved.returncode == 0, moved.stderr
    assert "imported 3 pets" in moved.stdout

    node = server_factory(tmp_path / "node", env={"DATABASE_URL": database_url})
    with node.client() as http:
        assert [get(http, pet["id"]) for pet in pets] == pets, "every pet as it was, under its id"
        assert {pet["id"]: timeline(http, pet["id"]) for pet in pets} == timelines, "and its timeline (stream items)"
        assert [p["id"] for p in list_all(http)] == [pets[0]["id"], pets[1]["id"]], "the deleted one hidden, as before"
        assert create(http, name="Next")["id"] == str(original["seq"] + 1), "the next id where the file left off"
    node.stop()

    back = tmp_path / "back"
    exported = move(back, database_url, "export", "--output", str(back / "pets.json"))
    assert exported.returncode == 0, exported.stderr
    doc = json.loads((back / "pets.json").read_text(encoding="utf-8"))
    assert doc["seq"] == original["seq"] + 1
    assert {k: v for k, v in doc["pets"].items() if v["name"] != "Next"} == original["pets"]

    on_files_again = server_factory(back)  # the JSON store reads the exported file
    with on_files_again.client() as http:
        assert [p["name"] for p in list_all(http)] == ["Rex", "Tom", "Next"]
        assert create(http, name="Later")["id"] == str(original["seq"] + 2)


def test_an_import_over_a_database_holding_pets_is_refused_unless_told_to_replace(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    files = tmp_path / "on-files"
    shelter_on_files(server_factory, files, ["Rex", "Tom"])
    node = server_factory(tmp_path / "node", env={"DATABASE_URL": database_url})
    with node.client() as http:
        create(http, name="Already here")
    node.stop()

    refused = move(files, database_url, "import")
    assert refused.returncode == 1
    assert "already holds 1 pets" in refused.stderr and "--replace" in refused.stderr
    out = tmp_path / "out.json"
    assert move(files, database_url, "export", "--output", str(out)).returncode == 0
    assert [p["name"] for p in json.loads(out.read_text())["pets"].values()] == ["Already here"], "left as it was"

    replaced = move(files, database_url, "import", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    again = move(files, database_url, "export", "--output", str(out))
    assert again.returncode == 1 and "exists" in again.stderr
    assert move(files, database_url, "export", "--output", str(out), "--replace").returncode == 0
    assert [p["name"] for p in json.loads(out.read_text())["pets"].values()] == ["Rex", "Tom"]


def test_events_still_pending_in_the_data_dir_run_on_the_database_after_the_move(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    files = tmp_path / "on-files"
    rex, _ = shelter_on_files(server_factory, files, ["Rex", "Tom"])
    request = json.dumps({"petId": rex["id"], "requestedStatus": "healthy", "currentStatus": "in_quarantine"})
    queued = run_cli(
        "emit", "py.pet.status.update.requested", request, "--no-run", data_dir=files
    )  # journaled; no server runs it
    assert queued.returncode == 0, queued.stderr

    moved = move(files, database_url, "import")
    assert moved.returncode == 0, moved.stderr
    assert "1 events" in moved.stdout

    node = server_factory(tmp_path / "node", env={"DATABASE_URL": database_url})
    with node.client() as http:
        wait_for_status(http, rex["id"], "available", timeout=30)  # healthy, then its automatic progression
        assert request_status(http, rex["id"], "pending")  # and the shelter carries on there
