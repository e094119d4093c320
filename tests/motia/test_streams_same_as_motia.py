"""The same fixture, the same requests, Motia's Node client: real Motia 0.17 and steprunner give it the same messages.

Timestamps and `_createdAt` values differ by nature and are compared as placeholders. The scenario
stays inside what both do alike: no delete of a missing item (Motia pushes `data: null`, which
makes its own group client throw) and no item id shared by two groups (Motia's item rooms ignore
the group).

One difference is left on purpose and taken out before comparing: under `motia start`/`motia dev`
(the Redis stream adapter) every create, update and delete reaches the client twice, first as a
custom event `{type: "event", event: {type: "create", data}}` (the adapter's own `send`, which the
server's wrapper turns into a push) and then as the real `{type: "create", data}`, often in the
same millisecond -- and then Motia's item client drops the real one (it ignores a message whose
timestamp is not above the last). steprunner sends only the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from steprunner.testing.stream_client import Watcher, client_unavailable_reason
from support.motia_server import MotiaUnavailable, start_motia
from tests.support.fixtures import STREAM_CLIENT_DIR
from tests.support.fixtures import STREAMS_FIXTURE_ROOT as FIXTURE_ROOT
from tests.support.server import Server

pytestmark = [pytest.mark.motia, pytest.mark.timeout(300)]  # Motia takes a while to start


@pytest.fixture
def servers(server_factory: Callable[..., Server]) -> Callable[..., Server]:
    """steprunner on the runtime's streams fixture project (runtime/tests/streams), stopped at teardown."""
    return lambda: server_factory(root=FIXTURE_ROOT)


@pytest.fixture
def watchers() -> Iterator[Callable[..., Watcher]]:
    """Motia's Node stream client (the runtime suite's, runtime/tests/streams/client), stopped at teardown."""
    reason = client_unavailable_reason(STREAM_CLIENT_DIR)
    if reason:
        pytest.skip(reason)
    started: list[Watcher] = []

    def watch(*args: Any, **kwargs: Any) -> Watcher:
        started.append(Watcher(STREAM_CLIENT_DIR, *args, **kwargs))
        return started[-1]

    yield watch
    for watcher in started:
        watcher.stop()


def normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<ms>" if k in ("timestamp", "_createdAt") else normalised(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def without_adapter_echoes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Motia's messages minus the custom-event copies of its item changes (see the module docstring)."""
    echo = ("create", "update", "delete")
    return [m for m in messages if not (m["event"]["type"] == "event" and m["event"]["event"]["type"] in echo)]


def scenario(server: Any, watchers: Callable[..., Watcher]) -> dict[str, Any]:
    """Requests and subscriptions in a fixed order; what the HTTP answers and both clients saw."""
    answers: list[Any] = []
    with server.client() as c:
        answers.append(c.put("/streams/g/rex", json={"name": "Rex", "status": "available"}).json())
        group = watchers(server.base_url, "petStatus", "g", events=("adoption", "vet")).wait_synced()
        item = watchers(server.base_url, "petStatus", "g", "bo", events=("vet",))
        item.wait(lambda w: {"kind": "open"} in w.lines, "the item client's socket")
        denied = watchers(server.base_url, "privateNotes", "closed")
        denied.wait(lambda w: w.messages, "the access-denied message")
        requests: list[tuple[str, str, Any]] = [
            ("PUT", "/streams/g/bo", {"name": "Bo", "status": "pending"}),
            ("PUT", "/streams/g/bo", {"name": "Bo", "status": "adopted"}),
            ("POST", "/streams/g/events", {"type": "adoption", "data": {"pet": "bo"}}),
            ("POST", "/streams/g/events", {"type": "vet", "data": {"at": "noon"}, "id": "bo"}),
            ("DELETE", "/streams/g/rex", None),
            ("GET", "/streams/g", None),
            ("GET", "/streams/g/bo", None),
            ("GET", "/streams/g/rex", None),
            ("DELETE", "/streams/g/bo", None),
        ]
        for method, path, body in requests:
            r = c.request(method, path, json=body)
            assert r.status_code == 200, (method, path, r.text)
            answers.append(r.json())
    group.wait(
        lambda w: w.kinds()[-1:] == ["delete"] and w.kinds().count("delete") == 2, "both deletes at the group client"
    )
    item.wait(lambda w: w.kinds()[-1:] == ["delete"], "the delete at the item client")
    return {
        "answers": normalised(answers),
        "group": normalised(group.messages),
        "item": normalised(item.messages),
        "denied": normalised(denied.messages),
        "group_state": normalised(group.state),
    }


def test_motia_and_steprunner_give_the_client_the_same_messages(
    servers: Callable[..., Server], watchers: Callable[..., Watcher], tmp_path: Any
) -> None:
    try:
        motia = start_motia(tmp_path / "motia", root=FIXTURE_ROOT)
    except MotiaUnavailable as exc:
        pytest.skip(str(exc))
    try:
        under_motia = scenario(motia, watchers)
    finally:
        motia.stop()
    under_steprunner = scenario(servers(), watchers)
    for key in ("group", "item"):
        under_motia[key] = without_adapter_echoes(under_motia[key])
    assert [m["event"]["type"] for m in under_motia["group"]] == [
        "sync",
        "create",
        "update",
        "event",
        "event",
        "delete",
        "delete",
    ]
    for key in under_motia:
        assert under_steprunner[key] == under_motia[key], key
