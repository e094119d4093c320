"""The runtime's example project (runtime/examples/helpdesk/) is a real Motia 0.17 project: real Motia runs it
unchanged, TypeScript step included, and its API answers as it does on steprunner, which skips that step."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from steprunner.testing.server import Server
from steprunner.testing.waiting import wait_until
from support.motia_server import MotiaServer
from tests.support.server import REPO_ROOT

pytestmark = [pytest.mark.motia, pytest.mark.timeout(300)]

EXAMPLE = REPO_ROOT / "runtime" / "examples" / "helpdesk"


def walkthrough(http: httpx.Client) -> list[tuple[int, Any]]:
    """The page's walkthrough: open a ticket, wait for its triage, ask for an unknown one; ids left out."""
    opened = http.post("/tickets", json={"title": "The site is down", "email": "ana@example.com"})
    ticket_id = opened.json()["id"]
    triaged = wait_until(
        lambda: (r := http.get(f"/tickets/{ticket_id}")).json()["status"] == "triaged" and r,
        timeout=60,
        message="TriageTicket",
    )
    unknown = http.get("/tickets/nope")
    return [(r.status_code, {k: v for k, v in r.json().items() if k != "id"}) for r in (opened, triaged, unknown)]


def test_real_motia_runs_the_example_as_steprunner_does_and_its_typescript_step_too(
    motia_factory: Callable[..., MotiaServer], server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    motia = motia_factory(root=EXAMPLE)
    assert set(motia.registered_steps()) == {
        "steps/open_ticket_api_step.py",
        "steps/get_ticket_api_step.py",
        "steps/triage_ticket_step.py",
        "steps/open_tickets_cron_step.py",
        "steps/page_on_call.step.ts",
    }
    with motia.client() as http:
        on_motia = walkthrough(http)
    wait_until(lambda: "Paging the on-call engineer" in motia.logs(), timeout=60, message="PageOnCall under Motia")

    copy = tmp_path / "helpdesk"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", ".venv", ".data"))
    steprunner = server_factory(root=copy)
    with steprunner.client() as http:
        on_steprunner = walkthrough(http)
    assert on_steprunner == on_motia
    assert on_motia[1] == (
        200,
        {"title": "The site is down", "email": "ana@example.com", "status": "triaged", "priority": "high"},
    )
    assert "Paging the on-call engineer" not in steprunner.logs()
