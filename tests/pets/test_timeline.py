"""A pet's timeline (issue 12, level 5; docs/decisions.md#20, #38), black-box: what a client
subscribed with Motia's own Node stream client (`@motiadev/stream-client-node`, runtime/tests/streams) sees
while a pet goes through its chain, what GET /py/pets/:id/timeline answers, and that nothing is
missing or doubled after a redelivery, a SIGKILL mid-chain or the reaper.

The walkthroughs run on real Motia 0.17 too; the crash, redelivery and reaper tests need
steprunner's fault hook, its `emit`/`cron run` commands and its stream store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from services.clock import now_ms
from services.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from steprunner.testing.stream_client import Watcher, client_unavailable_reason
from steprunner.testing.waiting import wait_until
from tests.pets.conftest import embedded_only, steprunner_only
from tests.pets.pets_api import admitted, request_status, settled, store_of, timeline_of, wait_for
from tests.support.fake_openai import GOOD_PROFILE, FakeOpenAI, fake_openai  # noqa: F401 - fixture
from tests.support.fixtures import STREAM_CLIENT_DIR
from tests.support.server import run_cli

RUNTIMES = ("steprunner", "motia")
pytestmark = pytest.mark.timeout(300)  # Motia runs a process per handler

Item = dict[str, Any]
ITEM_KEYS = ("id", "at", "kind", "message", "data")
SETTLED_KINDS = {"created", "feeding_reminder_set", "enrichment_started", "status_changed"}
NO_KEY = {"OPENAI_API_KEY": ""}  # the fallback profile, and a developer's .env can't supply a real key


def model_env(fake: FakeOpenAI) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test-key",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_TIMEOUT_SECONDS": "5",
        "OPENAI_MAX_RETRIES": "0",
    }


def timeline(client: httpx.Client, pet_id: str) -> list[Item]:
    return timeline_of(client, pet_id)


def kinds(items: list[Item]) -> list[str]:
    return [i["kind"] for i in items]


def moves(items: list[Item]) -> list[tuple[str, str]]:
    return [(i["data"]["oldStatus"], i["data"]["newStatus"]) for i in items if i["kind"] == "status_changed"]


def plain(item: Item) -> Item:
    """An item as a client holds it, without the stream's own keys (`_createdAt`)."""
    return {k: item[k] for k in ITEM_KEYS}


def state(watcher: Watcher) -> list[Item]:
    return [plain(i) for i in watcher.state or []]


def created_live(watcher: Watcher) -> list[Item]:
    """The items the client got pushed one by one after its sync, in the order they came."""
    return [plain(m["event"]["data"]) for m in watcher.messages if m["event"]["type"] == "create"]


def synced(watcher: Watcher) -> list[Item]:
    (sync,) = [m for m in watcher.messages if m["event"]["type"] == "sync"]
    return sorted((plain(i) for i in sync["event"]["data"]), key=lambda i: i["id"])


def changes(watcher: Watcher) -> list[str]:
    """Every item message the client got (Motia's adapter echoes, custom events, are not changes)."""
    return [
        m["event"]["type"] for m in watcher.messages if m["event"]["type"] in ("sync", "create", "update", "delete")
    ]


def sees(watcher: Watcher, items: list[Item], what: str) -> None:
    watcher.wait(lambda w: state(w) == items, f"the client's timeline to be {what}")


def before(items: list[Item], first: str, then: str) -> bool:
    order = kinds(items)
    return order.index(first) < order.index(then)


@pytest.fixture
def watch() -> Iterator[Callable[[Any, str], Watcher]]:
    """`watch(server, pet_id)`: Motia's Node client subscribed to the pet's timeline, kept in id order, synced."""
    reason = client_unavailable_reason(STREAM_CLIENT_DIR)
    if reason:
        pytest.skip(reason)
    started: list[Watcher] = []

    def start(server: Any, pet_id: str) -> Watcher:
        watcher = Watcher(STREAM_CLIENT_DIR, server.base_url, "petTimeline", pet_id, sort="id")
        started.append(watcher)
        return watcher.wait_synced()

    yield start
    for watcher in started:
        watcher.stop()


# ----------------------------------------------------------------------------- live, both runtimes


def test_a_client_sees_a_healthy_pets_timeline_so_far_then_each_item_as_it_happens(
    server_factory: Callable[..., Any],
    watch: Callable[[Any, str], Watcher],
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    server = server_factory(env=model_env(fake_openai))
    early = watch(server, "1")  # before the pet exists: it sees everything arrive
    with server.client() as client:
        response = client.post("/py/pets", json={"name": "Luna", "species": "cat", "ageMonths": 18})
        assert response.status_code == 201
        pet = response.json()
        assert (pet["id"], pet["status"], pet["name"]) == ("1", "new", "Luna"), "the create answer is still the pet"
        wait_for(client, "1", settled, "Luna to settle in quarantine with her profile")
        so_far = timeline(client, "1")
        assert set(kinds(so_far)) == SETTLED_KINDS | {"enrichment_completed"} and len(so_far) == 5
        assert [i["id"] for i in so_far] == ["000001", "000002", "000003", "000004", "000005"]
        assert moves(so_far) == [("new", "in_quarantine")]
        assert so_far[0]["message"] == "🐾 Luna the cat was taken in"
        completed = next(i for i in so_far if i["kind"] == "enrichment_completed")["data"]
        assert completed == {
            "fallback": False,
            "breedGuess": GOOD_PROFILE["breedGuess"],
            "temperamentTags": GOOD_PROFILE["temperamentTags"],
        }
        assert before(so_far, "feeding_reminder_set", "status_changed") and before(
            so_far, "enrichment_started", "enrichment_completed"
        )

        sees(early, so_far, "the timeline so far")  # all on the stream now
        late = watch(server, "1")
        assert synced(late) == so_far, "a client that joins late gets the timeline so far"
        answer = request_status(client, "1", "healthy")
        assert answer["accepted"] is True
        posted = wait_for(
            client,
            "1",
            lambda p: p["status"] == "available" and p["adoptionPosting"],
            "Luna available, with her posting",
        )
        whole = timeline(client, "1")

    assert whole[:5] == so_far and moves(whole[5:]) == [("in_quarantine", "healthy"), ("healthy", "available")]
    assert whole[5]["data"]["requestId"] == answer["requestId"] and whole[6]["data"]["automatic"] is True
    assert kinds(whole[7:]) == ["adoption_posting_written"] and len(whole) == 8
    assert whole[7]["data"] == {
        "title": posted["adoptionPosting"]["title"],
        "adoptionFee": posted["adoptionPosting"]["adoptionFee"],
    }
    sees(late, whole, "the whole walkthrough")
    sees(early, whole, "the whole walkthrough")
    assert created_live(late) == whole[5:], (
        "the late client got the staff's move and the automatic one, in order, as they happened"
    )
    assert synced(early) == [] and sorted(created_live(early), key=lambda i: i["id"]) == whole, "each item pushed once"
    arrived = created_live(early)
    assert arrived[0]["kind"] == "created" and arrived[-3:] == whole[5:], "causes arrive before what they set off"
    assert before(arrived, "feeding_reminder_set", "status_changed")
    assert "update" not in changes(early) + changes(late) and "delete" not in changes(early) + changes(late)


def test_a_client_sees_a_sick_pets_timeline_through_its_review_and_treatment(
    server_factory: Callable[..., Any], watch: Callable[[Any, str], Watcher]
) -> None:
    server = server_factory(env=NO_KEY)
    with server.client() as client:
        response = client.post(
            "/py/pets", json={"name": "Rex", "species": "dog", "ageMonths": 30, "symptoms": ["coughing"]}
        )
        assert response.status_code == 201
        pet = wait_for(client, response.json()["id"], settled, "Rex to settle in quarantine")
        so_far = timeline(client, pet["id"])
        assert set(kinds(so_far)) == SETTLED_KINDS | {"profile_from_template"}  # no key: AI is off, not a failure
        template = next(i for i in so_far if i["kind"] == "profile_from_template")
        assert template["message"] == "📄 Profile written from the shelter's template (AI is off)"
        assert template["data"]["fallback"] is True and template["data"]["reason"] == "OPENAI_API_KEY is not set"
        watcher = watch(server, pet["id"])
        sees(watcher, so_far, "the timeline so far")

        review = client.post(f"/py/pets/{pet['id']}/health-review")  # no key: the rules decide (a symptom: treatment)
        assert review.status_code == 202
        planned = wait_for(
            client,
            pet["id"],
            lambda p: p["status"] == "under_treatment" and p["treatmentPlan"],
            "Rex under treatment, with a plan",
        )
        refused = request_status(client, pet["id"], "available")
        assert refused["accepted"] is False
        whole = timeline(client, pet["id"])

    new = whole[len(so_far) :]
    assert kinds(new) == [
        "review_requested",
        "review_decided",
        "status_changed",
        "status_changed",
        "treatment_plan_written",
        "status_change_rejected",
    ]
    plan = planned["treatmentPlan"]
    assert new[4]["data"] == {
        "treatmentType": plan["treatmentType"],
        "urgency": plan["urgency"],
        "startsAt": plan["schedule"]["startsAt"],
    }
    requested, decided = new[0], new[1]
    assert requested["data"]["reviewId"] == decided["data"]["reviewId"] == review.json()["reviewId"]
    assert requested["message"] == "📋 Health review requested (pet is in_quarantine)"
    assert (decided["data"]["choice"], decided["data"]["source"]) == ("treatment_required", "fallback")
    assert decided["message"].startswith("🧭 Health review decided: treatment required (fallback: ")
    assert moves(new) == [("in_quarantine", "ill"), ("ill", "under_treatment")]
    rejection = whole[-1]
    assert rejection["kind"] == "status_change_rejected" and rejection["data"]["reason"] == refused["reason"]
    assert rejection["message"] == f"⚠️ Status change to available rejected: {refused['reason']}"
    sees(watcher, whole, "through treatment and the refused request")
    assert synced(watcher) + sorted(created_live(watcher), key=lambda i: i["id"]) == whole, (
        "the timeline so far, then each item once"
    )
    assert created_live(watcher)[-6:] == new, "pushed in order, as they happened"


def test_delete_and_restore_are_told_once_and_get_answers_for_curl(server_factory: Callable[..., Any]) -> None:
    server = server_factory(env=NO_KEY)
    with server.client() as client:
        assert client.get("/py/pets/999/timeline").status_code == 404
        assert client.get("/py/pets/999/timeline").json() == {"message": "Not found"}
        pet = admitted(client, "Bella")
        so_far = timeline(client, pet["id"])
        assert [i["id"] for i in so_far] == sorted(i["id"] for i in so_far) and all(
            set(i) == set(ITEM_KEYS) for i in so_far
        )
        assert [i["at"] for i in so_far] == sorted(i["at"] for i in so_far), "ids in the order of time"
        assert client.delete(f"/py/pets/{pet['id']}").status_code == 202
        assert client.delete(f"/py/pets/{pet['id']}").status_code == 202  # twice: told once
        deleted = timeline(client, pet["id"])
        assert client.post(f"/py/pets/{pet['id']}/restore").status_code == 200
        restored = timeline(client, pet["id"])

    assert kinds(deleted[len(so_far) :]) == ["deleted"]
    assert deleted[-1]["data"]["previousStatus"] == "in_quarantine" and deleted[-1]["data"]["purgeAt"] > now_ms()
    assert (
        restored[:-1] == deleted
        and restored[-1]["kind"] == "restored"
        and restored[-1]["data"] == {"status": "in_quarantine"}
    )
    assert restored[-1]["message"] == "♻️ Pet restored, back to in_quarantine"


def test_the_timeline_pages_newest_first_and_a_join_syncs_only_the_newest_page(
    server_factory: Callable[..., Any], runtime: str
) -> None:
    steprunner_only(runtime, "a join's sync bound (the stream's `syncLimit`) is steprunner's: Motia sends every item")
    server = server_factory(env=NO_KEY)
    with server.client() as client:
        pet = admitted(client, "Rex")
        path = f"/py/pets/{pet['id']}/timeline"
        for _ in range(MAX_PAGE_SIZE + 30):  # each refused request is told: the timeline outgrows a page
            refused = client.put(f"/py/pets/{pet['id']}", json={"status": "adopted"})
            assert refused.status_code == 202 and refused.json()["accepted"] is False, refused.text
        whole = timeline(client, pet["id"])  # page by page, back to oldest first
        newest = whole[::-1]
        assert len(whole) > MAX_PAGE_SIZE + 30 and [i["id"] for i in whole] == sorted(i["id"] for i in whole)

        first = client.get(path).json()
        assert first["items"] == newest[:DEFAULT_PAGE_SIZE] and first["nextCursor"]
        second = client.get(path, params={"limit": 7, "cursor": first["nextCursor"]}).json()
        assert second["items"] == newest[DEFAULT_PAGE_SIZE : DEFAULT_PAGE_SIZE + 7]
        pages, cursor = [first["items"], second["items"]], second["nextCursor"]
        while cursor is not None:
            page = client.get(path, params={"limit": MAX_PAGE_SIZE, "cursor": cursor}).json()
            assert 0 < len(page["items"]) <= MAX_PAGE_SIZE
            pages.append(page["items"])
            cursor = page["nextCursor"]
        assert [i for p in pages for i in p] == newest, "the pages, in turn, are the timeline newest first"
        for bad in ({"limit": 0}, {"limit": MAX_PAGE_SIZE + 1}, {"cursor": "not-a-cursor"}, {"other": "1"}):
            assert client.get(path, params=bad).status_code == 400, bad

    async def join() -> list[Item]:
        url = server.base_url.replace("http", "ws", 1)
        async with websockets.connect(url, open_timeout=10, max_size=None) as ws:
            data = {"streamName": "petTimeline", "groupId": pet["id"], "subscriptionId": "s"}
            await ws.send(json.dumps({"type": "join", "data": data}))
            sync = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert sync["event"]["type"] == "sync"
            return [plain(i) for i in sync["event"]["data"]]

    assert asyncio.run(join()) == whole[-MAX_PAGE_SIZE:], "the sync is the newest page, oldest first"


# ------------------------------------------------------------- redelivery, crashes, the reaper (steprunner)


def test_redelivered_events_add_no_item(
    server_factory: Callable[..., Any], runtime: str, watch: Callable[[Any, str], Watcher]
) -> None:
    steprunner_only(runtime, "`python -m steprunner emit` redelivers events")
    server = server_factory(env=NO_KEY)
    with server.client() as client:
        pet = admitted(client, "Max")
        answer = request_status(client, pet["id"], "healthy")
        wait_for(
            client,
            pet["id"],
            lambda p: p["status"] == "available" and p["adoptionPosting"],
            "Max available, with his posting",
        )
        refused = request_status(client, pet["id"], "new")  # told at once, by the PUT
        assert refused["accepted"] is False
        whole = timeline(client, pet["id"])
        watcher = watch(server, pet["id"])
        sees(watcher, whole, "the whole timeline")
        seen = len(watcher.messages)

        pet_id = pet["id"]
        copies = [
            ("py.pet.created", {"petId": pet_id, "name": "Max", "species": "dog", "ageMonths": 24}),
            ("py.feeding.reminder.enqueued", {"petId": pet_id, "enqueuedAt": pet["createdAt"]}),
            ("py.feeding.reminder.completed", {"petId": pet_id, "nextFeedingAt": pet["nextFeedingAt"]}),
            (
                "py.pet.status.update.requested",
                {
                    "petId": pet_id,
                    "requestedStatus": "healthy",
                    "currentStatus": "in_quarantine",
                    "automatic": False,
                    "requestId": answer["requestId"],
                },
            ),
        ]
        logs = server.logs()
        fed, unmoved = logs.count("✅ Next feeding reminder set"), logs.count("⏭️ No transition needed")
        for topic, data in copies:
            done = run_cli("emit", "--no-run", topic, json.dumps(data), data_dir=server.data_dir)
            assert done.returncode == 0, done.stderr
        wait_until(lambda: "pet already has a profile" in server.logs(), message="the enricher to skip the copy")
        wait_until(
            lambda: server.logs().count("✅ Next feeding reminder set") > fed, message="the feeding job to run again"
        )
        wait_until(
            lambda: "request already settled" in server.logs(), message="the orchestrator to recognise the request"
        )
        # the copied completion, and the one the feeding job's second run emitted
        wait_until(
            lambda: server.logs().count("⏭️ No transition needed") >= unmoved + 3,
            message="the completions to change nothing",
        )
        assert timeline(client, pet_id) == whole

    assert [i["id"] for i in whole] == [f"{n:06d}" for n in range(1, 10)]
    assert state(watcher) == whole and watcher.messages[seen:] == [], "the client got nothing new"


def test_an_item_stranded_by_a_kill_between_the_store_and_the_stream_is_shown_then_published(
    server_factory: Callable[..., Any], runtime: str, tmp_path: Path, watch: Callable[[Any, str], Watcher]
) -> None:
    steprunner_only(runtime, "the fault hook STEPRUNNER_FAULT")
    embedded_only(
        runtime,
        "on PostgreSQL the kill rolls the handler's pet write back with its item, so none is stranded "
        "(tests/pets/test_one_transaction_per_handler.py)",
    )
    data_dir = tmp_path / "data"
    first = server_factory(data_dir, env=NO_KEY)
    with first.client() as client:
        pet = admitted(client, "Ghost")
        so_far = timeline(client, pet["id"])
    first.stop()

    # Dies exactly between the orchestrator's write (healthy, with its item) and the item's stream write.
    doomed = server_factory(data_dir, env={**NO_KEY, "STEPRUNNER_FAULT": "kill:stream:petTimeline"})
    with doomed.client() as client:
        try:
            client.put(f"/py/pets/{pet['id']}", json={"status": "healthy"})
        except httpx.TransportError:
            pass  # the process may die before the answer is out
    assert doomed.wait_exit() != 0
    stranded = store_of(data_dir).get(pet["id"])
    assert stranded is not None and stranded["status"] == "healthy"
    assert [(i["id"], i["kind"]) for i in stranded["timelineOutbox"]][-1] == (
        "000006",
        "status_changed",
    )  # (and ones already published)

    # The reconciler waits its grace period, but the restart knows it crashed: PetRestartRecovery publishes
    # the stranded item at once (docs/durability.md), and the redelivered event tells nothing twice.
    server = server_factory(data_dir, env=NO_KEY)
    with server.client() as client:
        # the killed handler's event, delivered again, and what follows
        wait_for(
            client,
            pet["id"],
            lambda p: p["status"] == "available" and p["adoptionPosting"],
            "Ghost available, posted",
            timeout=60,
        )
        whole = timeline(client, pet["id"])
        assert whole[:5] == so_far and moves(whole[5:]) == [("in_quarantine", "healthy"), ("healthy", "available")]
        assert kinds(whole[7:]) == ["adoption_posting_written"] and len(whole) == 8, "never told twice"
        watcher = watch(server, pet["id"])
        sees(watcher, whole, "complete once the restart published the stranded item")
        assert timeline(client, pet["id"]) == whole
    assert '🩹 Pet timeline incomplete: items published {"petId": "' + pet["id"] + '", "items": 1}' in server.logs()
    healed = store_of(data_dir).get(pet["id"])
    assert healed is not None and "000006" not in [i["id"] for i in healed["timelineOutbox"]], (
        "taken out once published"
    )


def test_a_kill_before_an_event_is_journaled_leaves_the_timeline_whole_and_single(
    server_factory: Callable[..., Any], runtime: str, tmp_path: Path
) -> None:
    """The feeding job writes and tells, then dies before its completion is journaled: the redelivered
    job tells nothing again, and the chain (and its timeline) finishes."""
    steprunner_only(runtime, "the fault hook STEPRUNNER_FAULT")
    data_dir = tmp_path / "data"
    doomed = server_factory(data_dir, env={**NO_KEY, "STEPRUNNER_FAULT": "kill:py.feeding.reminder.completed"})
    pet_id = "1"
    with doomed.client() as client:
        try:
            client.post("/py/pets", json={"name": "Echo", "species": "bird", "ageMonths": 3})
        except httpx.TransportError:
            pass  # the process may die before the answer is out
    assert doomed.wait_exit() != 0

    server = server_factory(data_dir, env=NO_KEY)
    with server.client() as client:
        wait_for(client, pet_id, settled, "Echo to finish her chain after the restart", timeout=60)
        whole = timeline(client, pet_id)
    assert sorted(kinds(whole)) == sorted([*SETTLED_KINDS, "profile_from_template"])
    assert [i["id"] for i in whole] == [f"{n:06d}" for n in range(1, 6)]


def test_the_reaper_purges_the_timeline_with_the_pet(
    server_factory: Callable[..., Any], runtime: str, watch: Callable[[Any, str], Watcher]
) -> None:
    steprunner_only(runtime, "the reaper is run with `python -m steprunner cron run`, on steprunner's stream store")
    server = server_factory(env=NO_KEY)
    with server.client() as client:
        due, kept = admitted(client, "Due"), admitted(client, "Kept")
        for pet in (due, kept):
            assert client.delete(f"/py/pets/{pet['id']}").status_code == 202
        store = store_of(server.data_dir)
        store.update(due["id"], {"purgeAt": now_ms() - 1000})
        store.close()
        kept_timeline = timeline(client, kept["id"])
        watcher = watch(server, due["id"])
        sees(watcher, timeline(client, due["id"]), "the due pet's timeline")
        count = len(state(watcher))

        done = run_cli("cron", "run", "DeletionReaper", data_dir=server.data_dir)
        assert done.returncode == 0, done.stdout + done.stderr
        assert client.get(f"/py/pets/{due['id']}/timeline").status_code == 404
        assert timeline(client, kept["id"]) == kept_timeline, "a pet within its window keeps its timeline"
    watcher.wait(
        lambda w: changes(w).count("delete") == count and w.state == [], "every item to be deleted at the client"
    )
    assert count == 6
    assert synced(watch(server, due["id"])) == [], "nothing left for a client joining later"
