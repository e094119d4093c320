"""A process restarted after a SIGKILL settles what it stranded within seconds, not after the reconciler's grace.

The reconciler (every minute, for pets unchanged for 2 minutes) stays the safety net; these tests
keep its defaults and wait on the pets with a deadline well under its three minutes. A restarted
node knows its earlier process by its node id (`DATA_DIR/node-id`): it takes back that process's
claimed deliveries at once, and `PetRestartRecovery` queues again what the journal never heard of
(a pet written just before the SIGKILL, its events not yet queued), leaving alone every pet another
live process still has work for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import create, list_all, settled
from tests.support.fake_openai import GOOD_PROFILE, FakeOpenAI, RecordedRequest, fake_openai  # noqa: F401 - fixture
from tests.support.server import Server

DEADLINE = 60.0  # the reconciler alone takes up to three minutes


def burst(server: Server, acknowledged: list[str], stop: threading.Event) -> None:
    with server.client(timeout=10.0) as client:
        while not stop.is_set():
            try:
                acknowledged.append(create(client, "Burst")["id"])
            except (httpx.TransportError, AssertionError):
                return


def all_settle(server: Server, ids: set[str] | None = None, timeout: float = DEADLINE) -> list[dict[str, Any]]:
    """Wait until every pet (or those of `ids`) is settled, with its feeding reminder; returns them."""
    last: list[dict[str, Any]] = []
    with server.client() as client:

        def done() -> bool:
            pets = [p for p in list_all(client) if ids is None or p["id"] in ids]
            last[:] = [p for p in pets if not settled(p) or p.get("nextFeedingAt") is None]
            return bool(pets) and not last

        try:
            wait_until(done, timeout=timeout, message="every pet settled after the restart")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; unsettled: {last[:3]} ({len(last)} in all)") from None
        return list_all(client)


def test_a_restart_after_a_sigkill_mid_burst_settles_the_stranded_pets_at_once(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    # SIGKILL exactly between a create's store write and its journal write, while 8 clients create:
    # a pet the journal never heard of, whatever else the burst left half-done
    doomed = server_factory(data_dir, env={"STEPRUNNER_FAULT": "kill:py.pet.created"})
    stop, acknowledged = threading.Event(), []
    clients = [threading.Thread(target=burst, args=(doomed, acknowledged, stop)) for _ in range(8)]
    for client in clients:
        client.start()
    assert doomed.wait_exit() != 0
    stop.set()
    for client in clients:
        client.join(timeout=30)

    restarted = server_factory(data_dir)  # the reconciler on its defaults: every minute, 2 minutes' grace
    pets = all_settle(restarted)
    assert set(acknowledged) <= {p["id"] for p in pets}
    logs = restarted.logs()
    assert "restarted after a crash" in logs and "🩹 Pet chain incomplete" in logs


def test_a_restarted_node_takes_back_its_own_work_and_leaves_a_live_nodes_alone(
    server_factory: Callable[..., Server], empty_database_url: str, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """Two nodes on PostgreSQL, leases long enough for a slow model: node A dies holding its pets' enrichment,
    node B is still enriching its own pet. A restarted takes A's back at once; B's is not run twice."""
    slow = {"Held by B", *(f"A{i}" for i in range(4))}

    def answer(request: RecordedRequest) -> Any:
        return "slow" if name_in(request) in slow else GOOD_PROFILE

    fake_openai.mode, fake_openai.answer, fake_openai.slow_seconds = "good", answer, 120
    env = {
        "DATABASE_URL": empty_database_url,
        "STEPRUNNER_LEASE_SECONDS": "300",  # no takeover by lease or heartbeat within the test
        "OPENAI_API_KEY": "sk-test-key",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_TIMEOUT_SECONDS": "45",
        "OPENAI_MAX_RETRIES": "0",
    }
    a, b = (server_factory(tmp_path / name, env=env, wait=False) for name in ("node-a", "node-b"))
    a.wait_ready()
    b.wait_ready()
    with b.client() as http:
        held_by_b = create(http, "Held by B")["id"]
    with a.client() as http:
        on_a = {create(http, f"A{i}")["id"] for i in range(4)}
    wait_until(
        lambda: {name_in(r) for r in fake_openai.requests} >= slow,
        timeout=30,
        message="both nodes waiting on the model",
    )

    slow.difference_update(f"A{i}" for i in range(4))  # from now on only B's call is slow
    a.kill()  # SIGKILL: A's claims stay claimed, with leases of 300 s
    restarted = server_factory(tmp_path / "node-a", env=env)
    all_settle(restarted, on_a)
    wait_until(lambda: "Stranded pets settled" in restarted.logs(), timeout=DEADLINE, message="the restart's pass")
    with b.client() as http:  # the pass did not wait on B's pet (B holds it until its model answers)
        assert http.get(f"/py/pets/{held_by_b}").json()["profile"] is None, "B is still at it"
    assert [name_in(r) for r in fake_openai.requests].count("Held by B") == 1, "B's enrichment was not run again"
    requeued = [line for line in restarted.logs().splitlines() if "Pet chain incomplete" in line]
    assert not [line for line in requeued if f'"petId": "{held_by_b}"' in line], "nothing of B's was queued again"
    assert "restarted after a crash" in restarted.logs()


def name_in(request: RecordedRequest) -> str | None:
    data = request.user_data
    return data.get("name") if isinstance(data, dict) else None
