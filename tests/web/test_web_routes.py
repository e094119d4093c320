"""The built-in routes over real HTTP, on a real server process: what a curl user sees."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from openapi_spec_validator import validate

from steprunner.testing.sse import sse_events
from tests.support.fixtures import FIXTURE_ROOT
from tests.support.server import Server


def test_openapi_and_docs_are_served_from_this_server_only(server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as client:
        document = client.get("/openapi.json").json()
        validate(document)
        assert client.get("/__steprunner/openapi.json").json() == document
        page = client.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/") or a.startswith("data:") for a in assets), assets
        for asset in (a for a in assets if a.startswith("/")):
            assert client.get(asset).status_code == 200, asset
        assert "swagger-ui-bundle.js" in page.text


def test_step_routes_win_over_the_built_in_pages_which_stay_under_the_prefix(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    steps = tmp_path / "project" / "steps"
    steps.mkdir(parents=True)
    (steps / "home_api_step.py").write_text(
        textwrap.dedent("""
        config = {"type": "api", "name": "Home", "path": "/", "method": "GET", "emits": []}

        async def handler(req, context):
            return {"status": 200, "body": {"home": "mine"}}
    """)
    )
    (steps / "spec_api_step.py").write_text(
        textwrap.dedent("""
        config = {"type": "api", "name": "PostSpec", "path": "/openapi.json", "method": "POST", "emits": []}

        async def handler(req, context):
            return {"status": 201, "body": {"posted": True}}
    """)
    )
    server = server_factory(root=tmp_path / "project")
    with server.client() as client:
        assert client.get("/").json() == {"home": "mine"}
        assert "<title>steprunner" in client.get("/__steprunner/").text
        assert client.post("/openapi.json").json() == {"posted": True}
        assert set(client.get("/openapi.json").json()["paths"]) == {"/", "/openapi.json"}
        assert client.get("/docs").status_code == 200


def test_405_lists_every_method_served_at_the_path(server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as client:
        response = client.delete("/openapi.json")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"


def test_positions_api_checks_what_it_is_given(fixture_copy: Path, server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=fixture_copy)
    layout = fixture_copy / "motia-workbench.json"
    with server.client() as client:
        assert client.put("/__steprunner/positions", content=b"nope").status_code == 400
        assert (
            client.put(
                "/__steprunner/positions",
                json={"flow": "fixture", "file": "steps/echo_api_step.py", "x": "left", "y": 1},
            ).status_code
            == 400
        )
        missing = client.put(
            "/__steprunner/positions", json={"flow": "nope", "file": "steps/echo_api_step.py", "x": 1, "y": 1}
        )
        assert missing.status_code == 404 and "nope" in missing.json()["message"]
        outside = client.put(
            "/__steprunner/positions", json={"flow": "fixture", "file": "steps/chain_hop1_step.py", "x": 1, "y": 1}
        )
        assert outside.status_code == 404  # Hop1 is not in the fixture flow
        assert not layout.exists()
        saved = client.put(
            "/__steprunner/positions", json={"flow": "fixture", "file": "steps/echo_api_step.py", "x": 10.5, "y": -3}
        )
        assert saved.status_code == 200 and saved.json()["x"] == 10.5
        assert json.loads(layout.read_text()) == [
            {"id": "fixture", "config": {"steps/echo_api_step.py": {"x": 10.5, "y": -3}}}
        ]
        flow = client.get("/__steprunner/flow", params={"name": "fixture"}).json()
        echo = next(n for n in flow["nodes"] if n["name"] == "Echo")
        assert (echo["x"], echo["y"], echo["saved"]) == (10.5, -3, True)
        layout.write_text("{broken")
        refused = client.put(
            "/__steprunner/positions", json={"flow": "fixture", "file": "steps/echo_api_step.py", "x": 1, "y": 1}
        )
        assert refused.status_code == 409 and "motia-workbench.json" in refused.json()["message"]
        assert layout.read_text() == "{broken"
        shown = client.get("/__steprunner/flow", params={"name": "fixture"}).json()
        assert shown["savable"] is False and "motia-workbench.json" in shown["warning"]
        assert client.get("/__steprunner/flow", params={"name": "nope"}).status_code == 404


def test_traces_are_pushed_as_server_sent_events(server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=FIXTURE_ROOT)
    with server.client() as client, client.stream("GET", "/__steprunner/trace-stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        first = sse_events(lines, lambda event, data: event == "snapshot")
        assert first == [("snapshot", {"traces": []})]
        trace_id = client.post("/fanout", json={"topic": "t.hop1"}).json()["traceId"]
        events = sse_events(
            lines, lambda event, data: event == "trace" and data["traceId"] == trace_id and data["status"] == "ok"
        )
        done = events[-1][1]
        assert done["origin"] == {"kind": "api", "step": "Fanout", "method": "POST", "path": "/fanout"}
        assert done["steps"] == 4  # Fanout, Hop1, Hop2, Hop3
        detail = client.get(f"/__steprunner/traces/{trace_id}").json()
        assert [s["step"] for s in detail["spans"]] == ["Fanout", "Hop1", "Hop2", "Hop3"]
        assert client.get("/__steprunner/traces").json()["traces"][0]["traceId"] == trace_id
        assert client.get("/__steprunner/traces/unknown").status_code == 404


def test_an_open_stream_does_not_hold_up_ctrl_c(server_factory: Callable[..., Server]) -> None:
    # A grace period far longer than `stop` waits: a stream holding up shutdown ends in SIGKILL.
    server = server_factory(root=FIXTURE_ROOT, env={"STEPRUNNER_SHUTDOWN_GRACE_SECONDS": "600"})
    with server.client() as client, client.stream("GET", "/__steprunner/trace-stream") as stream:
        sse_events(stream.iter_lines(), lambda event, data: event == "snapshot")
        code = server.stop(timeout=60)
    assert code == 0, f"the server did not stop by itself (exit {code}):\n{server.logs()}"
    assert "Cancel" not in server.logs()
