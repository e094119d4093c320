"""Disk work never blocks the server: a pets.json lock held by another process holds up only the
writes that need it; reads (and everything else the server does) go on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from filelock import FileLock

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import admitted
from tests.support.server import Server


def running_creates(client) -> int:
    traces = client.get("/__steprunner/traces").json()["traces"]
    return sum(1 for t in traces if t["status"] == "running" and t["origin"].get("step") == "CreatePet")


def test_reads_answer_while_another_process_holds_the_lock_and_writes_wait_for_it(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    with server.client(timeout=60.0) as client, ThreadPoolExecutor(max_workers=4) as pool:
        pet = admitted(client)
        lock = FileLock(str(server.data_dir / "pets.json.lock"))
        with lock:  # another process (this test) holds the store's lock
            writes = [
                pool.submit(client.post, "/py/pets", json={"name": f"W{i}", "species": "cat", "ageMonths": 2})
                for i in range(3)
            ]
            wait_until(
                lambda: running_creates(client) == 3, timeout=30, message="the 3 creates to be waiting in the server"
            )
            # Answered while the lock is still held: the GETs do not queue behind the waiting writes.
            for _ in range(5):
                assert client.get(f"/py/pets/{pet['id']}", timeout=10.0).json()["name"] == "Buddy"
                assert client.get("/__steprunner/health", timeout=10.0).status_code == 200
            assert not any(w.done() for w in writes), "a write can't finish while another process holds the lock"
        answers = [w.result(timeout=60) for w in writes]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert sorted(a.json()["id"] for a in answers) == ["2", "3", "4"]
