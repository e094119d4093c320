"""motia-workbench.json: read and written in Motia's own format, one node at a time, atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steprunner.web.positions import WorkbenchFileError, save_position, saved_positions

MOTIA_FILE = [
    {
        "id": "pets",
        "config": {
            "steps/create_pet_step.py": {"x": 0, "y": 0, "sourceHandlePosition": "right"},
            "steps/get_pet_step.py": {"x": 380, "y": 170},
        },
    },
    {"id": "other", "config": {"steps/create_pet_step.py": {"x": 7, "y": 9}}},
]


def test_saving_moves_one_node_and_keeps_everything_else(tmp_path: Path) -> None:
    path = tmp_path / "motia-workbench.json"
    path.write_text(json.dumps(MOTIA_FILE))
    stored = save_position(path, tmp_path / "lock", "pets", "steps/create_pet_step.py", 120.0, -35.5)
    assert stored == {"x": 120, "y": -35.5}
    data = json.loads(path.read_text())
    assert data[0]["config"]["steps/create_pet_step.py"] == {"x": 120, "y": -35.5, "sourceHandlePosition": "right"}
    assert data[0]["config"]["steps/get_pet_step.py"] == {"x": 380, "y": 170}
    assert data[1] == MOTIA_FILE[1]
    assert saved_positions(path, "pets") == {
        "steps/create_pet_step.py": (120.0, -35.5),
        "steps/get_pet_step.py": (380.0, 170.0),
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", "motia-workbench.json"]  # no temporary file left


def test_a_missing_file_or_flow_is_created_in_motias_shape(tmp_path: Path) -> None:
    path = tmp_path / "motia-workbench.json"
    assert saved_positions(path, "pets") == {}
    save_position(path, tmp_path / "lock", "pets", "steps/a_step.py", 1, 2)
    save_position(path, tmp_path / "lock", "fixture", "steps/b_step.py", 3.25, 4)
    assert json.loads(path.read_text()) == [
        {"id": "pets", "config": {"steps/a_step.py": {"x": 1, "y": 2}}},
        {"id": "fixture", "config": {"steps/b_step.py": {"x": 3.25, "y": 4}}},
    ]


@pytest.mark.parametrize("text", ["{not json", '{"id": "pets"}', '[{"config": {}}]'])
def test_a_file_that_is_not_motias_format_is_an_error_and_is_left_alone(tmp_path: Path, text: str) -> None:
    path = tmp_path / "motia-workbench.json"
    path.write_text(text)
    with pytest.raises(WorkbenchFileError, match="motia-workbench.json"):
        saved_positions(path, "pets")
    with pytest.raises(WorkbenchFileError):
        save_position(path, tmp_path / "lock", "pets", "steps/a_step.py", 1, 2)
    assert path.read_text() == text
