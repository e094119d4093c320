"""Joining while another process writes: each client gets every item exactly once, in its sync or as a create."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import websockets

from steprunner.testing.server import Server
from tests.streams.support import ws_url

ITEMS = 60


async def join_and_collect(url: str, delay: float, done: asyncio.Event) -> tuple[list[str], list[str]]:
    await asyncio.sleep(delay)  # spread the joins over the writes (timing varies the race, never decides the outcome)
    synced: list[str] = []
    created: list[str] = []
    async with websockets.connect(url, open_timeout=20) as ws:
        await ws.send(
            json.dumps({"type": "join", "data": {"streamName": "petStatus", "groupId": "race", "subscriptionId": "s"}})
        )
        while not (done.is_set() and len(set(synced) | set(created)) >= ITEMS):
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            except TimeoutError:
                break
            if message["event"]["type"] == "sync":
                synced = [item["id"] for item in message["event"]["data"]]
            elif message["event"]["type"] == "create":
                created.append(message["id"])
    return synced, created


async def race(writer: Server, reader: Server) -> list[tuple[list[str], list[str]]]:
    done = asyncio.Event()

    async def write() -> None:
        async with httpx.AsyncClient(base_url=writer.base_url, timeout=30) as c:
            for i in range(ITEMS):
                r = await c.put(f"/streams/race/p{i:02d}", json={"name": f"p{i}", "status": "pending"})
                assert r.status_code == 200, r.text
        done.set()

    joins = [join_and_collect(ws_url(reader.base_url), delay, done) for delay in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)]
    *results, _ = await asyncio.gather(*joins, write())
    return results


def test_joins_during_writes_miss_nothing_and_repeat_nothing(servers: Callable[..., Server]) -> None:
    a = servers()
    b = servers(data_dir=a.data_dir)
    for synced, created in asyncio.run(race(a, b)):
        assert not set(synced) & set(created), (synced, created)  # nothing both in the sync and pushed again
        assert len(created) == len(set(created))
        assert sorted(synced + created) == [f"p{i:02d}" for i in range(ITEMS)]
