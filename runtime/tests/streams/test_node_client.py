"""Motia's own Node stream client against steprunner: sync, then create/update/delete/event, live."""

from __future__ import annotations

import time
from collections.abc import Callable

from steprunner.testing.server import Server
from tests.streams.support import Watcher

REX = {"name": "Rex", "status": "available"}


def put(server: Server, group: str, item_id: str, data: dict) -> dict:
    with server.client() as c:
        r = c.put(f"/streams/{group}/{item_id}", json=data)
    assert r.status_code == 200, r.text
    return r.json()


def test_group_subscription_sees_sync_then_every_change(
    servers: Callable[..., Server], watchers: Callable[..., Watcher]
) -> None:
    server = servers()
    put(server, "shelter", "rex", REX)
    put(server, "elsewhere", "other", {"name": "Other", "status": "pending"})
    watcher = watchers(server.base_url, "petStatus", "shelter", events=("adoption",)).wait_synced()
    assert [i["id"] for i in watcher.state] == ["rex"]

    with server.client() as c:
        assert c.put("/streams/shelter/bo", json={"name": "Bo", "status": "pending"}).status_code == 200
        assert c.put("/streams/shelter/bo", json={"name": "Bo", "status": "adopted"}).status_code == 200
        assert (
            c.put("/streams/elsewhere/other", json={"name": "Other", "status": "adopted"}).status_code == 200
        )  # another group
        assert c.post("/streams/shelter/events", json={"type": "adoption", "data": {"pet": "bo"}}).status_code == 200
        assert c.delete("/streams/shelter/rex").status_code == 200
        assert c.delete("/streams/shelter/nobody").json() == {"deleted": None}  # nothing deleted: nothing pushed

    watcher.wait(
        lambda w: w.kinds() == ["sync", "create", "update", "event", "delete"], "create, update, event, delete"
    )
    sync, create, update, event, delete = watcher.messages
    assert sync["event"]["data"] == [{**REX, "id": "rex", "_createdAt": sync["event"]["data"][0]["_createdAt"]}]
    assert "id" not in sync and "id" not in event
    assert create["id"] == "bo" and create["event"]["data"]["status"] == "pending"
    assert update["event"]["data"]["status"] == "adopted" and set(update["event"]["data"]) == {
        "name",
        "status",
        "id",
        "_createdAt",
    }
    assert event["event"] == {"type": "event", "event": {"type": "adoption", "data": {"pet": "bo"}}}
    assert delete["id"] == "rex" and delete["event"]["data"]["name"] == "Rex"
    assert all(m["streamName"] == "petStatus" and m["groupId"] == "shelter" for m in watcher.messages)
    stamps = [m["timestamp"] for m in watcher.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), (
        stamps
    )  # the client drops a message not newer than the last

    assert [i["id"] for i in watcher.state] == ["bo"] and watcher.state[0][
        "status"
    ] == "adopted"  # the client's own view
    assert {"kind": "event", "type": "adoption", "data": {"pet": "bo"}} in watcher.lines


def test_item_subscription_sees_only_its_item(servers: Callable[..., Server], watchers: Callable[..., Watcher]) -> None:
    server = servers()
    watcher = watchers(server.base_url, "petStatus", "shelter", "bo", events=("vet",))
    watcher.wait(lambda w: {"kind": "open"} in w.lines, "the socket to open")
    put(server, "shelter", "rex", REX)  # a missing item gets no sync; another item's changes are not its
    put(server, "shelter", "bo", {"name": "Bo", "status": "pending"})
    with server.client() as c:
        c.post("/streams/shelter/events", json={"type": "vet", "data": 1, "id": "bo"})
        c.post("/streams/shelter/events", json={"type": "vet", "data": 2})  # the group channel: not the item's
        c.delete("/streams/shelter/bo")
    watcher.wait(lambda w: w.kinds()[-1:] == ["delete"], "the delete")
    assert [(m["event"]["type"], m["id"]) for m in watcher.messages] == [
        ("create", "bo"),
        ("event", "bo"),
        ("delete", "bo"),
    ]
    assert {"kind": "event", "type": "vet", "data": 1} in watcher.lines
    assert watcher.state is None


def test_an_event_step_sets_items_too(servers: Callable[..., Server], watchers: Callable[..., Watcher]) -> None:
    server = servers()
    watcher = watchers(server.base_url, "petStatus", "queue").wait_synced()
    with server.client() as c:
        assert c.post("/streams/queue/max/later", json={"name": "Max", "status": "pending"}).status_code == 202
    watcher.wait(lambda w: w.state and w.state[0]["name"] == "Max", "the item set by the event step")


def test_a_change_through_one_process_reaches_clients_of_another(
    servers: Callable[..., Server], watchers: Callable[..., Watcher]
) -> None:
    a = servers()
    b = servers(data_dir=a.data_dir)
    watcher = watchers(b.base_url, "petStatus", "shared", events=("ping",)).wait_synced()
    sent = time.time()
    put(a, "shared", "rex", REX)
    with a.client() as c:
        c.post("/streams/shared/events", json={"type": "ping", "data": "from a"})
    watcher.wait(lambda w: w.kinds() == ["sync", "create", "event"], "A's create and event at B's client")
    print(
        f"A's set reached B's client {watcher.messages[1]['timestamp'] / 1000 - sent:.3f}s after the request was sent"
    )

    watcher_a = watchers(a.base_url, "petStatus", "shared").wait_synced()
    assert [i["id"] for i in watcher_a.messages[0]["event"]["data"]] == ["rex"]
    put(b, "shared", "rex", {**REX, "status": "adopted"})
    for w in (watcher, watcher_a):
        w.wait(lambda w: w.kinds()[-1] == "update", "B's update at both clients")
        assert w.state[0]["status"] == "adopted"
    assert watcher_a.kinds() == ["sync", "update"]  # joined after the create: it came with the sync, not again


def test_a_restart_keeps_the_items(servers: Callable[..., Server], watchers: Callable[..., Watcher]) -> None:
    first = servers()
    put(first, "kept", "rex", REX)
    first.stop()
    second = servers(data_dir=first.data_dir)
    watcher = watchers(second.base_url, "petStatus", "kept").wait_synced()
    assert [(i["id"], i["name"]) for i in watcher.state] == [("rex", "Rex")]


def test_can_access_refuses_with_motias_error_event(
    servers: Callable[..., Server], watchers: Callable[..., Watcher]
) -> None:
    server = servers()
    with server.client() as c:
        assert c.put("/notes/open/n1", json={"text": "hello"}).status_code == 200
        assert c.put("/notes/closed/n1", json={"text": "secret"}).status_code == 200
    allowed = watchers(server.base_url, "privateNotes", "open").wait_synced()
    refused = watchers(server.base_url, "privateNotes", "closed")
    unknown = watchers(server.base_url, "noSuchStream", "g")
    assert [i["text"] for i in allowed.state] == ["hello"]
    denied = {"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}
    refused.wait(lambda w: {"kind": "event", "type": "error", "data": denied} in w.lines, "the access-denied event")
    unknown.wait(lambda w: len(w.messages) == 2, "two error messages")
    assert [m["event"]["event"]["data"]["message"] for m in unknown.messages] == [
        "Stream noSuchStream not found",
        "Access denied",
    ]
    assert refused.kinds() == ["event"] and refused.state is None  # no sync: the client never had a state
