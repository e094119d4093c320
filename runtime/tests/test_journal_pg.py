"""The journal on PostgreSQL: claims, leases, takeovers, retries, dead letters, wake-ups, cron ticks
and state, against a real (throwaway) cluster. Each `PgJournal` here stands for one node.

A lease or a heartbeat "that ran out" is given a negative length: it lapsed before the next
statement, on the database's clock, with no waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from steprunner.journal.contract import NewDelivery
from steprunner.journal.postgres import PgJournal

LONG = 60.0  # a lease or heartbeat that holds for the whole test
LAPSED = -1.0


def work(n: int, max_attempts: int = 3, delay: float = 0.0) -> list[NewDelivery]:
    return [NewDelivery("t.work", "Work", {"seq": i}, f"trace-{i}", max_attempts, delay) for i in range(n)]


def rows(url: str) -> list[tuple[int, str, int, str | None]]:
    with psycopg.connect(url) as conn:
        return [
            tuple(r)
            for r in conn.execute("SELECT id, status, attempts, lease_owner FROM steprunner_deliveries ORDER BY id")
        ]


def run(scenario: Callable[..., Awaitable[Any]], url: str, nodes: int = 2) -> Any:
    async def main() -> Any:
        journals = [PgJournal(url) for _ in range(nodes)]
        try:
            return await asyncio.wait_for(scenario(*journals), 60)
        finally:
            for journal in journals:
                journal.close()

    return asyncio.run(main())


def test_nodes_claiming_at_once_each_get_different_deliveries(database_url: str) -> None:
    async def scenario(*nodes: PgJournal) -> list[list[int]]:
        await nodes[0].insert(work(300), lease_seconds=None)  # journaled by a process not delivering: all pending
        batches = await asyncio.gather(*(node.claim(25, LONG, ["Work"]) for node in nodes for _ in range(3)))
        return [[d.id for d in batch] for batch in batches]

    batches = run(scenario, database_url, nodes=3)
    claimed = [i for batch in batches for i in batch]
    assert len(claimed) == len(set(claimed)) == 9 * 25, "no delivery claimed twice"
    assert all(batch == sorted(batch) for batch in batches)
    owners = {owner for _, status, _, owner in rows(database_url) if status == "claimed"}
    assert len(owners) == 3


def test_an_emit_by_a_delivering_node_is_claimed_by_it_and_not_by_others(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> tuple[list[int], list[Any], list[Any]]:
        ids = await a.insert(work(3) + work(1, delay=LONG), lease_seconds=LONG)
        return ids, await b.claim(10, LONG, ["Work"]), await a.claim(10, LONG, ["Work"])

    ids, by_b, by_a = run(scenario, database_url)
    assert ids == sorted(ids) and len(ids) == 4
    assert by_b == [] and by_a == []  # three held by a, the delayed one not due yet
    assert [(status, attempts) for _, status, attempts, _ in rows(database_url)] == [("claimed", 1)] * 3 + [
        ("pending", 0)
    ]


def test_a_lapsed_lease_is_taken_over_and_counts_a_try(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> tuple[list[Any], list[Any]]:
        await a.insert(work(2), lease_seconds=LAPSED)
        return await a.claim(10, LONG, ["Other"]), await b.claim(10, LONG, ["Work"])

    other_step, taken = run(scenario, database_url)
    assert other_step == []  # only the steps a node runs
    assert [(d.data, d.attempts) for d in taken] == [({"seq": 0}, 2), ({"seq": 1}, 2)]


def test_a_node_whose_heartbeat_lapsed_loses_its_claims_and_cannot_put_them_back(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> list[Any]:
        ids = await a.insert(work(2), lease_seconds=LONG)
        await a.heartbeat(LONG)
        await b.heartbeat(LONG)
        assert await b.claim(10, LONG, ["Work"]) == []  # a is alive: its claims hold
        await a.heartbeat(LAPSED)  # a stops beating (a crash, a partition)
        taken = await b.claim(10, LONG, ["Work"])
        assert await a.claim(10, LONG, ["Work"]) == []  # b is alive: a can't take them back
        await a.retry_later(ids[0], 0, "late news from a")  # a presumed dead writes an outcome: nothing changes
        await a.dead_letter(ids[1], "late news from a")
        return taken

    taken = run(scenario, database_url)
    assert len(taken) == 2
    assert {(status, attempts) for _, status, attempts, _ in rows(database_url)} == {("claimed", 2)}
    assert len({owner for *_, owner in rows(database_url)}) == 1


def test_retries_come_due_dead_letters_stay_and_replay_brings_them_back(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> None:
        first, second = await a.insert(work(2, max_attempts=2), lease_seconds=LONG)
        await a.retry_later(first, LONG, "not yet")
        await a.retry_later(second, 0, "now")
        assert [d.id for d in await b.claim(10, LONG, ["Work"])] == [second]  # `first` is not due for a minute
        await b.dead_letter(second, "RuntimeError: gave up")
        assert await b.stats() == [{"topic": "t.work", "step": "Work", "pending": 1, "claimed": 0, "dead": 1}]
        dead = await a.dead_letters()
        assert [(d["id"], d["attempts"], d["last_error"], d["data"]) for d in dead] == [
            (second, 2, "RuntimeError: gave up", '{"seq": 1}')
        ]
        assert await a.replay(None) == 1 and await a.replay(second) == 0
        again = await a.claim(10, LONG, ["Work"])
        assert [(d.id, d.attempts) for d in again] == [(second, 1)]  # a fresh try count
        await a.ack(second)

    run(scenario, database_url)
    assert [status for _, status, _, _ in rows(database_url)] == ["pending"]


def test_release_hands_claims_back_without_counting_the_try(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> list[Any]:
        await a.insert(work(2), lease_seconds=LONG)
        await a.heartbeat(LONG)
        assert await a.release() == 2
        return await b.claim(10, LONG, ["Work"])

    taken = run(scenario, database_url)
    assert [d.attempts for d in taken] == [1, 1]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM steprunner_nodes").fetchone() == (0,)  # a stopped node says so


def test_pending_work_wakes_the_nodes_that_listen(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> None:
        woken = asyncio.Event()
        b.listen(woken.set)
        await asyncio.wait_for(woken.wait(), 30)  # listening now (it wakes once on connecting)
        woken.clear()
        await a.insert(work(1), lease_seconds=LONG)  # claimed by a as it is journaled: nobody to wake
        await a.insert(work(1), lease_seconds=None)  # pending: any node may run it
        await asyncio.wait_for(woken.wait(), 30)
        woken.clear()
        await a.dead_letter((await a.claim(1, LONG, ["Work"]))[0].id, "boom")
        await a.replay(None)
        await asyncio.wait_for(woken.wait(), 30)

    run(scenario, database_url)


def test_each_cron_tick_is_claimed_once(database_url: str) -> None:
    async def scenario(*nodes: PgJournal) -> list[bool]:
        return await asyncio.gather(*(node.claim_cron_tick("Tick", tick) for tick in (100, 101) for node in nodes))

    won = run(scenario, database_url, nodes=3)
    assert won[:3].count(True) == 1 and won[3:].count(True) == 1


def test_state_is_shared_by_every_node(database_url: str) -> None:
    async def scenario(a: PgJournal, b: PgJournal) -> None:
        assert await a.state_set("pets", "2", {"name": "Rex"}) == {"name": "Rex"}
        await a.state_set("pets", "10", [1, 2])
        await a.state_set("pets", "2", {"name": "Rex", "age": 3})
        assert await b.state_get("pets", "2") == {"name": "Rex", "age": 3}
        assert await b.state_get_group("pets") == [[1, 2], {"name": "Rex", "age": 3}]  # by key, "10" before "2"
        assert await b.state_delete("pets", "10") == [1, 2] and await b.state_delete("pets", "10") is None
        await b.state_clear("pets")
        assert await a.state_get_group("pets") == [] and await a.state_get("pets", "2") is None

    run(scenario, database_url)
