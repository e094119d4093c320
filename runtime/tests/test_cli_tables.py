"""The CLI's tables fit the terminal: `COLUMNS` when set, 100 columns when the output is not a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from steprunner.table import column_widths, elide, render
from steprunner.testing.server import run_cli
from tests.support import FIXTURE_ROOT

ROWS = [
    ("TYPE", "NAME", "TRIGGER", "EMITS"),
    ("event", "PetLifecycleOrchestrator", "on py.feeding.reminder.completed, py.pet.status.update.requested", "-"),
    ("api", "CreatePet", "POST /py/pets", "py.pet.created, py.feeding.reminder.enqueued, py.ai.profile.requested"),
]


def test_a_table_that_fits_is_one_line_a_row() -> None:
    lines = render(ROWS, width=400)
    assert len(lines) == 3 and lines[0].split() == ["TYPE", "NAME", "TRIGGER", "EMITS"]


@pytest.mark.parametrize("width", [100, 80, 60])
def test_a_wide_table_wraps_inside_its_columns_and_loses_nothing(width: int) -> None:
    lines = render(ROWS, width=width)
    assert max(len(line) for line in lines) <= width
    assert lines[0].split() == ["TYPE", "NAME", "TRIGGER", "EMITS"], "the header stays whole"
    widths = column_widths(ROWS, width)
    starts = [sum(widths[:i]) + 2 * i for i in range(len(widths))]
    columns = [["".join(line[a : a + w].split()) for line in lines[1:]] for a, w in zip(starts, widths)]
    for i in range(len(widths)):
        assert "".join(columns[i]) == "".join(row[i] for row in ROWS[1:]).replace(" ", ""), ROWS[0][i]


def test_right_aligned_columns_line_up_under_their_header() -> None:
    lines = render([("TOPIC", "DEAD"), ("t.a", "1"), ("t.b", "12")], width=100, right=frozenset({1}))
    assert [line.rstrip()[-2:] for line in lines] == ["AD", " 1", "12"]


def test_elide_marks_where_it_cut() -> None:
    assert elide("x" * 10, 5) == "xxxx…" and elide("short", 10) == "short"


@pytest.mark.parametrize(("columns", "width"), [("60", 60), ("", 100)])
def test_steps_fits_the_terminal_or_100_columns_without_one(tmp_path: Path, columns: str, width: int) -> None:
    wide = run_cli("steps", data_dir=tmp_path, root=FIXTURE_ROOT, env={"COLUMNS": "1000"})
    narrow = run_cli("steps", data_dir=tmp_path, root=FIXTURE_ROOT, env={"COLUMNS": columns})
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= width
    names = [line.split()[1] for line in wide.stdout.splitlines()[1:]]
    first_cells = [line.split()[:2] for line in narrow.stdout.splitlines() if line[:1].strip()]
    assert [cells[1] for cells in first_cells[1:]] == names, "every step still has its row, in order"


def test_steps_lists_steps_by_name_then_streams(tmp_path: Path) -> None:
    listed = run_cli("steps", data_dir=tmp_path, root=FIXTURE_ROOT, env={"COLUMNS": "1000"})
    rows = [line.split()[:2] for line in listed.stdout.split("\n\n")[0].splitlines()[1:]]
    steps = [name for kind, name in rows if kind != "stream"]
    assert len(steps) > 3 and steps == sorted(steps, key=str.lower), "a reader finds a step by its name"
