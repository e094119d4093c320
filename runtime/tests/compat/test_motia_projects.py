"""Issue 11: a third-party Motia 0.17 Python project loads and runs on steprunner unchanged.

`motia_style_project/` is written as such projects are (its README lists what it exercises). By
default steprunner does what Motia does with it -- skips, drops and warns, and serves the rest;
strict mode (`--strict`, `STEPRUNNER_STRICT=1`, what the rest of this suite runs) refuses it.
Every test starts a real server on a copy of the project, so its `__pycache__` stays out of git.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from steprunner.testing.server import Server, run_cli
from steprunner.testing.waiting import wait_until

PROJECT = Path(__file__).parent / "motia_style_project"
LAX = {"STEPRUNNER_STRICT": ""}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shelter"
    shutil.copytree(PROJECT, root)
    return root


def line(logs: str, pattern: str) -> str:
    """The one log line matching `pattern` (a regex), so a test asserts its level too."""
    found = [ln for ln in logs.splitlines() if re.search(pattern, ln)]
    assert len(found) == 1, f"expected one line matching {pattern!r}, got {found}\n--- logs ---\n{logs}"
    return found[0]


def test_a_src_only_project_starts_skipping_what_motia_skips(
    server_factory: Callable[..., Server], project: Path
) -> None:
    server = server_factory(root=project, env=LAX)
    logs = server.logs()
    assert "steprunner: 3 steps from " + str(project) + "/src\n" in logs
    assert " WARN " in line(logs, r"src/pets/legacy\.step\.py")
    assert "rename it to `src/pets/legacy_step.py`" in logs
    broken = line(logs, r"skipped step src/pets/broken_step\.py: config\.colour")
    assert " ERROR " in broken and "unknown key" in broken
    assert " ERROR " in line(logs, r"skipped step src/pets/broken_step\.py: config\.emits: Field required")
    with server.client() as c:
        assert c.get("/legacy").status_code == 404
        assert c.get("/broken").status_code == 404


def test_the_handlers_run_as_under_motia(server_factory: Callable[..., Server], project: Path) -> None:
    server = server_factory(root=project, env=LAX)
    with server.client() as c:
        created = c.post("/pets", json={"id": "p1", "name": "Rex"})
        assert created.status_code == 200, created.text
        assert created.json() == {"greeting": "hello Rex"}  # the relative import worked
        trace = created.headers["x-trace-id"]

        # state.get wraps as Motia's Python state manager does; get_group's list is not wrapped
        pet = wait_until(lambda: (r := c.get("/pets/p1").json())["seen"]["data"] and r, message="OnPetCreated to run")
        detail = c.get(f"/__steprunner/traces/{trace}").text
    assert "emitted topic 'pet.audited'" in detail  # the dropped emit shows in the trace view too
    assert pet == {
        "pet": {"data": {"id": "p1", "name": "Rex"}},
        "seen": {"data": {"by": "OnPetCreated"}},
        "missing": {"data": None},
        "group": [{"id": "p1", "name": "Rex"}],
    }
    logs = wait_until(
        lambda: "does not match the `input` schema" in (text := server.logs()) and text, message="the input warning"
    )
    # the undeclared emit: dropped, an ERROR line on the request's trace naming step and topic
    dropped = line(logs, r"emitted topic 'pet\.audited'")
    assert " ERROR " in dropped and "CreatePet" in dropped and trace[:8] in dropped and "event dropped" in dropped
    # a logger argument that is not a dict is logged as {"data": ...}
    assert '{"data": "p1"}' in line(logs, r"pet stored")
    # the event missing its `input` schema: a WARN naming the field, and the handler still ran
    mismatch = line(logs, r"does not match the `input` schema of 'OnPetCreated'")
    assert (
        " WARN " in mismatch and r"name: 42 is not of type \"string\"" in mismatch
    )  # a JSON log field: its quotes escaped


def test_the_steps_command_lists_src_steps(project: Path, tmp_path: Path) -> None:
    result = run_cli("steps", data_dir=tmp_path / "data", root=project, env=LAX)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "TYPE", "no log lines before the table: the skipped files have a section"
    steps, skipped = lines[1 : lines.index("")], lines[lines.index("") + 1 :]
    assert [row.split()[1] for row in steps] == ["CreatePet", "GetPet", "OnPetCreated"]
    assert skipped[0] == "skipped: 2 files steprunner does not run"
    why = {row.split()[0]: row.split(maxsplit=1)[1] for row in skipped[2:] if row[:1].strip()}
    assert set(why) == {"src/pets/broken_step.py", "src/pets/legacy.step.py"}
    assert why["src/pets/broken_step.py"].startswith("config refused, as Motia 0.17 refuses it: config.")
    assert why["src/pets/legacy.step.py"].startswith("old *.step.py name: Motia 0.17 skips it too")


def test_strict_mode_refuses_the_old_naming(server_factory: Callable[..., Server], project: Path) -> None:
    server = server_factory(root=project, wait=False)  # the harness runs strict
    assert server.wait_exit() == 1
    assert "cannot start: src/pets/legacy.step.py: `*.step.py` is the old naming" in server.logs()


def test_strict_mode_refuses_an_invalid_config(
    server_factory: Callable[..., Server], project: Path, tmp_path: Path
) -> None:
    (project / "src" / "pets" / "legacy.step.py").unlink()
    server = server_factory(root=project, wait=False)  # STEPRUNNER_STRICT=1, from the harness
    assert server.wait_exit() == 1
    assert "cannot start: src/pets/broken_step.py: config." in server.logs()
    assert "src/pets/broken_step.py: config.colour: unknown key" in server.logs()
    result = run_cli("--strict", "steps", data_dir=tmp_path / "data", root=project, env=LAX)  # the flag alone
    assert result.returncode == 1
    assert "cannot start: src/pets/broken_step.py: config." in result.stderr
