"""Soft delete, restore within the 30-day window, and the deletion reaper run from the CLI."""

from __future__ import annotations

from collections.abc import Callable

from services.clock import now_ms
from services.decisions import DAY_MS
from tests.pets.pets_api import admitted, create, get, move_to, put, store_of, wait_for, wait_for_status
from tests.support.server import Server, run_cli

# On real Motia too. Motia has no command that runs a cron step now, so there the reaper test
# runs DeletionReaper with `python -m steprunner cron run` against the data Motia serves.
RUNTIMES = ("steprunner", "motia")


def test_delete_schedules_the_purge_30_days_on_and_keeps_the_pet(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        response = client.delete(f"/py/pets/{pet['id']}")
        assert response.status_code == 202
        body = response.json()
        deleted = get(client, pet["id"])
        assert body == {"message": "Pet scheduled for deletion", "petId": pet["id"], "purgeAt": deleted["purgeAt"]}
        assert deleted["status"] == "deleted"
        assert deleted["purgeAt"] == deleted["deletedAt"] + 30 * DAY_MS
        assert abs(deleted["deletedAt"] - now_ms()) < 60_000
        assert client.get("/py/pets").json()["items"] == [], "deleted pets are left out of the list"

        # Deleting again answers the same and does not push the purge back.
        again = client.delete(f"/py/pets/{pet['id']}")
        assert again.status_code == 202 and again.json() == body
    logs = server.logs()
    assert logs.count("🗑️ Pet soft deleted") == 1


def test_a_deleted_pet_can_not_be_changed_until_restored(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        client.delete(f"/py/pets/{pet['id']}")
        for body in ({"name": "Other"}, {"status": "healthy"}, {"name": "Other", "status": "healthy"}):
            response = put(client, pet["id"], body)
            assert response.status_code == 409, response.text
            assert f"POST /py/pets/{pet['id']}/restore" in response.json()["message"]
        assert get(client, pet["id"])["name"] == "Buddy"
        # DELETE is the only way to `deleted`; PUT is told so.
        other = admitted(client, "Rex")
        response = put(client, other["id"], {"status": "deleted"})
        assert response.status_code == 400 and "DELETE" in response.text


def test_restore_brings_the_pet_back_to_where_it_was(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        move_to(client, pet["id"], "healthy", then="available")
        move_to(client, pet["id"], "pending")
        client.delete(f"/py/pets/{pet['id']}")
        response = client.post(f"/py/pets/{pet['id']}/restore")
        assert response.status_code == 200, response.text
        restored = response.json()
        assert restored["status"] == "pending"
        assert restored["deletedAt"] is None and restored["purgeAt"] is None
        assert [p["id"] for p in client.get("/py/pets").json()["items"]] == [pet["id"]]
        # And its lifecycle goes on.
        move_to(client, pet["id"], "adopted")
        # Restoring a pet that is not deleted is a conflict, not a silent success.
        response = client.post(f"/py/pets/{pet['id']}/restore")
        assert response.status_code == 409 and "is not deleted" in response.json()["message"]
    assert "♻️ Pet restored" in server.logs()


def test_a_pet_deleted_before_its_feeding_setup_resumes_it_when_restored(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = create(client)
        client.delete(f"/py/pets/{pet['id']}")
        wait_for(client, pet["id"], lambda p: p["status"] == "deleted", "the pet to be deleted")
        client.post(f"/py/pets/{pet['id']}/restore")
        restored = wait_for_status(client, pet["id"], "in_quarantine")
        assert restored["nextFeedingAt"] == restored["createdAt"] + DAY_MS


def test_restore_after_the_purge_time_is_refused(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        client.delete(f"/py/pets/{pet['id']}")
        store = store_of(server.data_dir)
        store.update(pet["id"], {"purgeAt": now_ms() - 1000})
        store.close()
        response = client.post(f"/py/pets/{pet['id']}/restore")
        assert response.status_code == 409
        assert "can no longer be restored" in response.json()["message"]
        assert get(client, pet["id"])["status"] == "deleted"


def test_the_reaper_purges_only_deleted_pets_past_their_purge_time(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        due = admitted(client, "Due")
        not_yet = admitted(client, "NotYet")
        kept = admitted(client, "Kept")
        client.delete(f"/py/pets/{due['id']}")
        client.delete(f"/py/pets/{not_yet['id']}")
        # As the spec says: set purgeAt in the past by hand. The store's lock makes it safe
        # to do while the server runs.
        store = store_of(server.data_dir)
        past = now_ms() - DAY_MS
        store.update(due["id"], {"deletedAt": past - 30 * DAY_MS, "purgeAt": past})
        store.update(kept["id"], {"purgeAt": past})  # not deleted: never purged
        store.close()

        result = run_cli("cron", "run", "DeletionReaper", data_dir=server.data_dir)
        assert result.returncode == 0, result.stdout + result.stderr
        output = result.stdout + result.stderr

        assert client.get(f"/py/pets/{due['id']}").status_code == 404
        assert get(client, not_yet["id"])["status"] == "deleted"
        assert get(client, kept["id"])["status"] == "in_quarantine"

    assert "🔄 Deletion Reaper started - scanning for pets to purge" in output
    assert f'💀 Pet permanently purged {{"petId": "{due["id"]}", "name": "Due", "deletedAt": "' in output
    assert '✅ Deletion Reaper completed {"totalScanned": 2, "purgedCount": 1, "failedCount": 0}' in output

    # A second run finds nothing more to do.
    again = run_cli("cron", "run", "DeletionReaper", data_dir=server.data_dir)
    assert (
        '✅ Deletion Reaper completed {"totalScanned": 1, "purgedCount": 0, "failedCount": 0}'
        in again.stdout + again.stderr
    )
