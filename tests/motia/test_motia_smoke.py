"""The project's step files, unchanged, under real Motia 0.17's runtime, black-box over HTTP.

What a Motia user would see: every step file is accepted, a pet created through
`POST /py/pets` can be read back and reaches `in_quarantine` through the event steps (each
handler a fresh Python process sharing the JSON store in DATA_DIR, with the environment it
was given), and Motia logs no error on the way. The `test_motia_difference_*` tests pin down
where Motia itself behaves differently from steprunner.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.motia_server import MotiaServer
from tests.pets import pets_api
from tests.support.fake_openai import GOOD_PROFILE, FakeOpenAI, fake_openai  # noqa: F401 - fixture
from tests.support.server import REPO_ROOT

FIXTURE_ROOT = REPO_ROOT / "runtime" / "tests" / "fixture_project"

# Starting Motia takes seconds, and tens of them on a busy 2-core machine.
pytestmark = [pytest.mark.motia, pytest.mark.timeout(300)]

# Each call is a process start (~0.3-1 s here); a POST sets off three more hops.
LIFECYCLE_TIMEOUT = 60.0


def step_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / "steps").rglob("*_step.py")}


def test_motia_accepts_every_step_file(motia: MotiaServer) -> None:
    registered = motia.registered_steps()
    assert set(registered) == step_files(motia.root), (
        f"Motia left out or added steps; its start-up said:\n{motia.logs()}"
    )


def test_a_new_pet_is_stored_read_back_and_quarantined(motia: MotiaServer) -> None:
    with motia.client() as client:
        created = pets_api.create(client, "Mochi", "cat", 7)
        assert created["status"] == "new"
        read = pets_api.get(client, created["id"])  # the event steps may already have moved it on
        assert {k: read[k] for k in ("id", "name", "species", "ageMonths", "createdAt")} == {
            "id": created["id"],
            "name": "Mochi",
            "species": "cat",
            "ageMonths": 7,
            "createdAt": created["createdAt"],
        }
        pet = pets_api.wait_for_status(client, created["id"], "in_quarantine", timeout=LIFECYCLE_TIMEOUT)
    assert pet["notes"] and pet["nextFeedingAt"] == created["createdAt"] + 24 * 3600 * 1000
    # The steps' processes wrote to the DATA_DIR the launcher gave Motia, not to the project's .data/
    stored = pets_api.store_of(motia.data_dir).get(created["id"])
    assert stored is not None and stored["status"] == "in_quarantine"


def test_event_steps_run_without_schema_errors(motia: MotiaServer) -> None:
    """Motia compiles each event step's `input` with Ajv; a schema it can't compile is logged as an error."""
    with motia.client() as client:
        pet = pets_api.create(client, "Pico", "bird", 3)
        pets_api.wait_for_status(client, pet["id"], "in_quarantine", timeout=LIFECYCLE_TIMEOUT)
    errors = [
        line
        for line in motia.logs().splitlines()
        if "Invalid JSON schema" in line or "failed to convert schema" in line
    ]
    assert not errors, "Motia could not compile an event step's input schema:\n" + "\n".join(errors)


def test_motia_difference_bodies_over_about_64_kb_fail_before_the_step_runs(motia: MotiaServer) -> None:
    """Motia passes the request (parsed body and raw body) to Python on the command line: E2BIG."""
    with motia.client() as client:
        response = client.post("/py/pets", json={"name": "x" * 70_000, "species": "dog", "ageMonths": 1})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    assert "E2BIG" in motia.logs()


def test_motia_difference_malformed_json_gets_express_html_400(motia: MotiaServer) -> None:
    """Express's body parser answers before any step: HTML, not the project's JSON `message`."""
    with motia.client() as client:
        response = client.post("/py/pets", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


def test_environment_reaches_every_handler_process(
    motia_factory: Callable[..., MotiaServer], fake_openai: FakeOpenAI
) -> None:
    """Motia starts a Python process per call with its own environment: OPENAI_* must get there."""
    server = motia_factory(
        env={
            "OPENAI_API_KEY": "sk-test-key",
            "OPENAI_BASE_URL": fake_openai.base_url,
            "OPENAI_TIMEOUT_SECONDS": "5",
            "OPENAI_MAX_RETRIES": "0",
        }
    )
    with server.client() as client:
        pet = pets_api.create(client, "Luna", "cat", 18)
        enriched = pets_api.wait_for(
            client, pet["id"], lambda p: bool(p.get("profile")), "Luna's profile", timeout=LIFECYCLE_TIMEOUT
        )
    assert enriched["profile"] == GOOD_PROFILE
    assert len(fake_openai.requests) == 1


def test_motia_difference_an_undeclared_emit_is_dropped_and_logged(motia_factory: Callable[..., MotiaServer]) -> None:
    """Motia drops the event, logs it, and goes on; so does steprunner by default (strict mode refuses it)."""
    server = motia_factory(root=FIXTURE_ROOT)
    with server.client() as client:
        response = client.get("/broken/undeclared")
    # The fixture handler returns nothing after the emit: Motia answers that with a 500 too
    assert response.status_code == 500
    assert "tried to emit an event not defined in the step config: t.not.declared" in server.logs()
