"""Start-up problems a person can fix are told in one line on stderr, exit code 1, no traceback."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from steprunner.testing.server import run_cli
from tests.support import FIXTURE_ROOT


def refused(data_dir: Path, root: Path = FIXTURE_ROOT, env: dict[str, str] | None = None) -> str:
    """Run `dev`, expect it to stop at once with a one-line message; return that line."""
    result = run_cli("dev", "--port", "0", data_dir=data_dir, root=root, env=env, timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ready" not in result.stdout
    return lines[0]


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_text("not a folder")
    assert f"DATA_DIR {data} is a file" in refused(data)


def test_data_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert "is a file (or under one)" in refused(tmp_path / "file" / "data")


def test_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        data = Path("/sys/steprunner-data")  # root may write anywhere but sysfs
        expected = f"DATA_DIR {data} cannot be created"
    else:
        data = tmp_path / "data"
        data.mkdir(mode=0o500)
        expected = f"DATA_DIR {data} is not writable"
    line = refused(data)
    assert expected in line and "set DATA_DIR to a writable folder" in line


def test_a_journal_that_is_not_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "steprunner.db").write_bytes(os.urandom(8192))
    line = refused(data)
    assert f"{data / 'steprunner.db'} is not a steprunner journal" in line and "move it away" in line
    events = run_cli("events", data_dir=data, root=FIXTURE_ROOT)  # the other commands say the same
    assert (
        events.returncode == 1 and "is not a steprunner journal" in events.stderr and "Traceback" not in events.stderr
    )


def project(tmp_path: Path, step_source: str) -> Path:
    root = tmp_path / "proj"
    (root / "steps").mkdir(parents=True)
    (root / "steps" / "store_step.py").write_text(textwrap.dedent(step_source))
    return root


def test_an_import_error_that_explains_itself_is_one_line_others_keep_their_traceback(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """
        class StoreError(Exception):
            explains_itself = True

        raise StoreError("pets.json is not valid JSON (line 1): fix or remove it")
    """,
    )
    line = refused(tmp_path / "data", root=root)
    assert (
        line == "steprunner: cannot start: steps/store_step.py: pets.json is not valid JSON (line 1): fix or remove it"
    )
    # a SyntaxError, or a class that does not say exactly `explains_itself = True`, is worth its traceback
    for n, source in enumerate(
        ("def broken(:\n", "class Oops(Exception):\n    explains_itself = 'yes'\n\nraise Oops('truthy, not True')\n")
    ):
        result = run_cli(
            "dev", "--port", "0", data_dir=tmp_path / "data", root=project(tmp_path / str(n), source), timeout=30
        )
        assert result.returncode == 1
        assert "steps/store_step.py: failed to import" in result.stderr and "Traceback" in result.stderr
