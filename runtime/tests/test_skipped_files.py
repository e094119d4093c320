"""Each file of a Motia project that steprunner does not run is named, with why: in `steprunner steps` (a
section after the table, within the terminal's width) and in `dev`'s log lines. The names are Motia 0.17's
(steprunner/discovery.py; runtime/docs/run-a-motia-project.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from steprunner.discovery import Kind, classify
from steprunner.loader import StepLoadError, load_steps
from steprunner.testing.server import run_cli

API = (
    'config = {{"type": "api", "name": "{name}", "path": "/{name}", "method": "GET", "emits": []}}\n\n'
    "async def handler(req, context):\n    return {{'status': 200, 'body': {{}}}}\n"
)
STREAM = 'config = {"name": "updates", "baseConfig": {"storageType": "default"}, "schema": {"type": "object"}}\n'

# file -> the start of its WHY cell in `steprunner steps`
SKIPPED = {
    "steps/a_old.step.py": "old *.step.py name: Motia 0.17 skips it too; rename it to steps/a_old_step.py",
    "steps/b_send_step.js": "JavaScript step: it needs Motia's Node.js runtime",
    "steps/c_broken_step.py": "config refused, as Motia 0.17 refuses it: config.colour: unknown key",
    "steps/d_card.step.tsx": "Workbench card of a step (React): steprunner's flow view draws its own",
    "steps/e_chat.stream.ts": "TypeScript stream: it needs Motia's Node.js runtime; a Python step using it fails",
    "steps/f_old.stream.py": "old *.stream.py name: Motia 0.17 skips it too, silently; rename it to",
    "steps/g_empty_step.py": "no `config`: Motia 0.17 skips it too",
    "steps/h_hello.step.ts": "TypeScript step: it needs Motia's Node.js runtime; steprunner runs Python steps only",
    "src/alerts/notify.step.rb": "Ruby step: it needs Motia's Ruby runner; steprunner runs Python steps only",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one file of each kind steprunner skips, and a step and a stream it runs."""
    root = tmp_path / "mixed"
    files = {
        "steps/ok_step.py": API.format(name="Ok"),
        "steps/updates_stream.py": STREAM,
        "steps/helpers.py": "X = 1\n",  # no step to Motia either: not listed
        "steps/a_old.step.py": API.format(name="Old"),
        "steps/b_send_step.js": "exports.config = {}\n",
        "steps/c_broken_step.py": API.format(name="Broken").replace('"emits": []', '"emits": [], "colour": "red"'),
        "steps/d_card.step.tsx": "export default () => null\n",
        "steps/e_chat.stream.ts": "export const config = {}\n",
        "steps/f_old.stream.py": STREAM,
        "steps/g_empty_step.py": "X = 1\n",
        "steps/h_hello.step.ts": "export const config = {}\n",
        "src/alerts/notify.step.rb": "def config; end\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_motias_file_names_are_classified_as_motia_0_17_loads_them() -> None:
    assert classify("steps/a_step.py") is None and classify("src/x/b_stream.py") is None  # run
    assert classify("steps/helpers.py") is None and classify("steps/util.ts") is None  # no step to Motia either
    kinds = {
        "steps/a.step.py": Kind.OLD_STEP_NAME,
        "steps/a.stream.py": Kind.OLD_STREAM_NAME,
        "steps/a.step.ts": Kind.OTHER_LANGUAGE,
        "steps/a_step.ts": Kind.OTHER_LANGUAGE,
        "steps/a.step.js": Kind.OTHER_LANGUAGE,
        "steps/a_step.rb": Kind.OTHER_LANGUAGE,
        "steps/a.stream.ts": Kind.OTHER_LANGUAGE,
        "steps/a_stream.js": Kind.OTHER_LANGUAGE,
        "steps/a.step.tsx": Kind.UI_OVERRIDE,
        "steps/a.step.jsx": Kind.UI_OVERRIDE,
    }
    assert {name: getattr(classify(name), "kind", None) for name in kinds} == kinds


@pytest.mark.parametrize("columns", ["", "70"])
def test_steps_names_each_skipped_file_with_why_within_the_width(project: Path, tmp_path: Path, columns: str) -> None:
    done = run_cli("steps", data_dir=tmp_path / "data", root=project, env={"STEPRUNNER_STRICT": "", "COLUMNS": columns})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(columns or 100)
    assert [line.split()[0] for line in lines[: lines.index("")] if line[:1].strip()] == ["TYPE", "api", "stream"]
    section = lines[lines.index("") + 1 :]
    assert section[0] == f"skipped: {len(SKIPPED)} files steprunner does not run"
    assert section[1].split() == ["FILE", "WHY"]
    indent = section[1].index("WHY")
    rows: dict[str, str] = {}  # a row's WHY, its wrapped lines joined
    for line in section[2:]:
        if line[:1].strip():
            name = line[:indent].strip()
            rows[name] = line[indent:]
        else:
            rows[name] += " " + line[indent:]
    assert list(rows) == list(SKIPPED), "each skipped file once, src/ after steps/"
    for name, why in SKIPPED.items():  # compared without spaces: a cell wraps at spaces, dots and slashes
        assert "".join(rows[name].split()).startswith("".join(why.split())), (name, rows[name])


def test_dev_logs_each_skipped_python_file_and_one_line_for_the_others(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [s.name for s in load_steps(project, strict=False)]
    assert names == ["Ok"]
    logs = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in logs] == ["WARN", "ERROR", "WARN", "ERROR", "INFO"]
    assert "skipped steps/a_old.step.py: `*.step.py` is the old naming; rename it to `steps/a_old_step.py`" in logs[0]
    assert "skipped step steps/c_broken_step.py: config.colour: unknown key (strict mode would stop here)" in logs[1]
    assert "skipped steps/f_old.stream.py: old *.stream.py name" in logs[2]
    assert "skipped step steps/g_empty_step.py: no `config` defined" in logs[3]
    assert logs[4].endswith(
        "skipped 5 files in other languages (steps/b_send_step.js, steps/d_card.step.tsx, steps/e_chat.stream.ts "
        "and 2 more): steprunner runs Python steps only; `steprunner steps` says why for each"
    )


def test_strict_mode_refuses_the_old_step_name_but_skips_the_rest(project: Path) -> None:
    with pytest.raises(StepLoadError, match="steps/a_old.step.py: `\\*.step.py` is the old naming"):
        load_steps(project, strict=True)
    for name in ("a_old.step.py", "c_broken_step.py", "g_empty_step.py"):  # what strict mode refuses
        (project / "steps" / name).unlink()
    assert [s.name for s in load_steps(project, strict=True)] == ["Ok"]
