"""With DATABASE_URL, a slow model holds nothing of the database (issue 20, item 1).

The profile enricher and the review agents write a timeline item before they ask the model. That
write commits before the call (`waiting_outside`, runtime/docs/events.md): while the model thinks
no handler holds a connection or a row lock, so creates and updates answer at once and the pets'
lifecycle goes on. The fake model holds every call until the test lets it answer; the node has a
small pool, so a handler connection held across a call would starve the others within seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import create, get, wait_for
from tests.support.fake_openai import FakeOpenAI, fake_openai  # noqa: F401 - fixture

PETS = 4
SMALL_POOL = {
    "STEPRUNNER_DATABASE_POOL_SIZE": "4",  # 2 connections for handlers' transactions
    "STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS": "2",
    "STEPRUNNER_CRON_PET_RECONCILER": "0 0 1 1 *",  # no reconciler run meanwhile
}


def held_in_transaction(watcher: psycopg.Connection[Any], database_url: str) -> list[tuple[Any, ...]]:
    """Backends of the service's database idle in a transaction while holding locks (the stall's signature)."""
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    return watcher.execute(
        "SELECT a.pid, a.state, left(a.query, 80), count(l.*) FROM pg_stat_activity a"
        " JOIN pg_locks l ON l.pid = a.pid AND l.granted"
        " WHERE a.datname = %s AND a.state LIKE 'idle in transaction%%' AND a.pid <> pg_backend_pid()"
        " GROUP BY a.pid, a.state, a.query",
        (dbname,),
    ).fetchall()


def test_a_slow_model_holds_no_connection_or_lock(
    server_factory: Any, database_url: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "slow"
    fake_openai.slow_seconds = 120  # answers when the test lets it
    env = {
        "DATABASE_URL": database_url,
        "OPENAI_API_KEY": "sk-test-key",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_MAX_RETRIES": "0",
        "OPENAI_TIMEOUT_SECONDS": "45",
        **SMALL_POOL,
    }
    node = server_factory(tmp_path / "node", env=env)
    with node.client(timeout=30) as http, psycopg.connect(database_url, autocommit=True) as watcher:
        pets = [create(http, f"Pet{n}", "dog") for n in range(PETS)]
        wait_until(lambda: len(fake_openai.requests) >= PETS, timeout=30, message="every enrichment asking the model")

        # While every model call is held: writes answer, and the pets move on to quarantine.
        late = http.post("/py/pets", json={"name": "Late", "species": "cat", "ageMonths": 6})
        assert late.status_code == 201, f"a create while the model thinks: {late.status_code} {late.text}"
        renamed = http.put(f"/py/pets/{pets[0]['id']}", json={"name": "Renamed"}, headers=node.staff_headers)
        assert renamed.status_code == 200, f"an update while the model thinks: {renamed.status_code} {renamed.text}"
        for pet in [*pets, late.json()]:
            wait_for(http, pet["id"], lambda p: p["status"] == "in_quarantine", f"{pet['name']} in quarantine")
        assert not held_in_transaction(watcher, database_url), "no handler idles in a transaction holding locks"

        # A review agent tells the request on the timeline, then asks the (held) model.
        asked = len(fake_openai.requests)
        review = http.post(f"/py/pets/{pets[1]['id']}/health-review", headers=node.staff_headers)
        assert review.status_code == 202, review.text
        wait_until(lambda: len(fake_openai.requests) > asked, timeout=30, message="the health agent asking the model")
        timeline = http.get(f"/py/pets/{pets[1]['id']}/timeline").json()["items"]
        assert "review_requested" in [item["kind"] for item in timeline], "the request is told before the answer"
        assert not held_in_transaction(watcher, database_url), "nor does a review agent"
        again = http.put(f"/py/pets/{pets[1]['id']}", json={"weightKg": 12.5}, headers=node.staff_headers)
        assert again.status_code == 200, f"the reviewed pet can be updated: {again.status_code} {again.text}"
        assert all(not get(http, p["id"]).get("profile") for p in pets), "the model has not answered yet"

        fake_openai.release_slow_requests()
        for pet in pets:
            wait_for(
                http, pet["id"], lambda p: bool(p.get("profile")), f"{pet['name']}'s profile once the model answers"
            )
        wait_for(http, pets[1]["id"], lambda p: bool(p.get("reviews")), "the health review decided")
    assert "answered 503" not in node.logs()
