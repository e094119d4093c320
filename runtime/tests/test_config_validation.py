"""Start-up refuses step files that Motia would refuse, naming the file and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from steprunner.loader import StepLoadError, load_steps
from steprunner.testing.server import run_cli

VALID_API = {"type": "api", "name": "Ok", "path": "/ok", "method": "GET", "emits": []}


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    (root / "steps").mkdir(parents=True)
    for name, body in files.items():
        (root / "steps" / name).write_text(textwrap.dedent(body))
    return root


def step_file(
    config: dict, handler: str = "async def handler(req, context):\n    return {'status': 200, 'body': {}}\n"
) -> str:
    return f"config = {config!r}\n\n{handler}"


def load_error(tmp_path: Path, files: dict[str, str]) -> str:
    with pytest.raises(StepLoadError) as info:
        load_steps(project(tmp_path, files))
    return str(info.value)


def test_valid_steps_load(tmp_path: Path) -> None:
    steps = load_steps(project(tmp_path, {"ok_step.py": step_file(VALID_API)}))
    assert [s.name for s in steps] == ["Ok"]


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"bad_step.py": step_file({**VALID_API, "colour": "red"})})
    assert "steps/bad_step.py" in message and "config.colour: unknown key" in message


def test_missing_emits_is_refused(tmp_path: Path) -> None:
    config = {k: v for k, v in VALID_API.items() if k != "emits"}
    message = load_error(tmp_path, {"bad_step.py": step_file(config)})
    assert "steps/bad_step.py: config.emits: Field required" in message


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({**VALID_API, "method": "FETCH"}, "config.method"),
        ({**VALID_API, "emits": "topic"}, "config.emits"),
        ({**VALID_API, "path": "no-slash"}, "config.path"),
        ({"type": "event", "name": "E", "subscribes": "t", "emits": []}, "config.subscribes"),
        (
            {
                "type": "event",
                "name": "E",
                "subscribes": ["t"],
                "emits": [],
                "infrastructure": {"queue": {"maxRetries": "3"}},
            },
            "config.infrastructure.queue.maxRetries",
        ),
        ({"type": "cron", "name": "C", "cron": "every day", "emits": []}, "config.cron"),
        ({"type": "worker", "name": "W"}, "config.type"),
    ],
)
def test_wrong_types_are_refused(tmp_path: Path, config: dict, key: str) -> None:
    message = load_error(tmp_path, {"bad_step.py": step_file(config)})
    assert f"steps/bad_step.py: {key}:" in message


def test_duplicate_step_name(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"a_step.py": step_file(VALID_API), "b_step.py": step_file({**VALID_API, "path": "/other"})}
    )
    assert "steps/b_step.py: config.name" in message and "steps/a_step.py" in message


def test_route_defined_twice(tmp_path: Path) -> None:
    files = {
        "a_step.py": step_file({**VALID_API, "path": "/pets/:id"}),
        "b_step.py": step_file({**VALID_API, "name": "Other", "path": "/pets/:petId"}),
    }
    message = load_error(tmp_path, files)
    assert "steps/b_step.py: config.path: route GET /pets/:petId is already defined by steps/a_step.py" in message


def test_import_error_shows_file_and_traceback(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"bad_step.py": "import not_a_module_anywhere\n"})
    assert "steps/bad_step.py: failed to import" in message
    assert "Traceback" in message and "not_a_module_anywhere" in message


def test_old_dotted_name_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"old.step.py": step_file(VALID_API)})
    assert "old.step.py" in message and "_step.py" in message


def test_sync_handler_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"a_step.py": step_file(VALID_API, "def handler(req, context):\n    return None\n")})
    assert "steps/a_step.py: `handler` must be `async def`" in message


def test_dev_stops_with_the_message(tmp_path: Path) -> None:
    root = project(tmp_path, {"bad_step.py": step_file({**VALID_API, "colour": "red"})})
    result = run_cli("dev", "--port", "0", data_dir=tmp_path / "data", root=root, timeout=30)
    assert result.returncode == 1
    assert "cannot start: steps/bad_step.py: config.colour: unknown key" in result.stderr


WIDE_TERMINAL = {"COLUMNS": "1000"}  # a row a line (narrower terminals: test_cli_tables.py)


def test_steps_command_prints_a_table(tmp_path: Path) -> None:
    from tests.support import FIXTURE_ROOT

    result = run_cli("steps", data_dir=tmp_path, root=FIXTURE_ROOT, env=WIDE_TERMINAL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["TYPE", "NAME", "TRIGGER", "EMITS", "FLOWS"]
    by_name = {line.split()[1]: line for line in lines[1:]}
    assert "POST /echo/:name" in by_name["Echo"]
    assert "on t.hop2" in by_name["Hop2"] and "t.hop3" in by_name["Hop2"]
    assert "cron 0 3 * * *" in by_name["Tick"] and "fixture" in by_name["Tick"]


def test_steps_command_lists_the_streams_too(tmp_path: Path) -> None:
    from tests.streams.support import FIXTURE_ROOT as STREAMS_ROOT

    result = run_cli("steps", data_dir=tmp_path, root=STREAMS_ROOT, env=WIDE_TERMINAL)
    assert result.returncode == 0, result.stderr
    streams = [line.split() for line in result.stdout.splitlines() if line.startswith("stream ")]
    assert streams == [
        ["stream", "petStatus", "-", "-", "-", "steps/pet_status_stream.py"],
        ["stream", "privateNotes", "-", "-", "-", "steps/private_notes_stream.py"],
    ]


def test_dev_on_a_busy_port_says_so_before_starting(tmp_path: Path) -> None:
    import socket

    from tests.support import FIXTURE_ROOT

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("dev", "--port", str(port), data_dir=tmp_path, root=FIXTURE_ROOT, timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "ready" not in result.stdout
