"""README.md's walkthroughs, pasted whole into bash against a real server, and checked against
the output the README shows under each.

The README's conventions, which this module enforces:

- Every fenced block in bash, sh or shell is a walkthrough and runs here, unless the line right
  above its opening fence is `<!-- not run by tests: REASON -->` (a block that starts the
  server, say). There is no other way to skip one.
- The fenced block right after a walkthrough is a ```text block: what the walkthrough prints.
  Each of its lines matches one output line, in order; `…` in a line stands for any text (ids,
  times, what is left out); a line that is `…` alone stands for any number of lines. Nothing
  else may be printed (steprunner/testing/markdown.py: `mismatch`).

A walkthrough runs as a reader's paste does (steprunner/testing/paste.py: `bash --norc -i` reading
the block on its input, so a stray `!` fails here as it would for the reader), in the project
folder, with `PORT` set to a fresh server's port (tests/support/server.py: its own DATA_DIR, no
OPENAI_API_KEY, no STAFF_API_KEY). Each runs twice on its server: on a new shelter,
then again on the shelter it left behind (ids past 1, names taken), as a reader pasting it again
would. No sleeps here: the only waits are the README's own bounded `until_status` loops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from steprunner.testing.markdown import SHELL_LANGUAGES, Block, blocks, mismatch, slug
from steprunner.testing.paste import paste as paste_block
from tests.support.server import REPO_ROOT, Server

README = REPO_ROOT / "README.md"
BLOCKS = blocks(README.read_text(encoding="utf-8"))


def walkthroughs() -> list[tuple[Block, Block | None]]:
    """Each block the README runs, with the block after it (its output, if the README is right)."""
    pairs = []
    for i, block in enumerate(BLOCKS):
        if block.language in SHELL_LANGUAGES and block.not_run is None:
            pairs.append((block, BLOCKS[i + 1] if i + 1 < len(BLOCKS) else None))
    return pairs


WALKTHROUGHS = walkthroughs()


def paste(block: Block, server: Server, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
    for needed in ("bash", "curl"):
        assert shutil.which(needed), f"the README's walkthroughs need {needed}, which is not on PATH"
    assert (REPO_ROOT / ".venv" / "bin" / "python").exists(), (
        "the timeline walkthrough runs .venv/bin/python (make dev)"
    )
    # python3 is this venv's (stdlib only in the blocks): a pyenv shim costs ~0.5 s a call, ~40 calls a paste
    path = os.pathsep.join((str(Path(sys.executable).parent), server.env.get("PATH", os.defpath)))
    return paste_block(block.text, REPO_ROOT, {**server.env, "PATH": path, "PORT": str(server.port)}, timeout)


def test_the_readme_has_its_walkthroughs_and_says_what_each_prints() -> None:
    headings = [block.heading for block, _ in WALKTHROUGHS]
    assert headings == ["A pet's life", "The review agents", "A pet's timeline, live"]
    for block, shown in WALKTHROUGHS:
        assert shown is not None and shown.language == "text", (
            f"README.md line {block.line}: the block after a walkthrough must be ```text, what it prints"
        )
    skipped = [block for block in BLOCKS if block.language in SHELL_LANGUAGES and block.not_run]
    assert all("make dev" in block.text or "make test" in block.text for block in skipped), skipped
    assert all(block.language in {*SHELL_LANGUAGES, "text"} for block in BLOCKS), "a block in another language"


@pytest.mark.timeout(360)  # two pastes of a few dozen calls each, on shared cores
@pytest.mark.parametrize(("block", "shown"), WALKTHROUGHS, ids=[slug(block.heading) for block, _ in WALKTHROUGHS])
def test_walkthrough_prints_what_the_readme_shows(
    block: Block, shown: Block, server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    for paste_number, store in ((1, "a new shelter"), (2, "the shelter the first paste left")):
        pasted = paste(block, server)
        problem = mismatch(shown.text, pasted.stdout)
        assert problem is None, (
            f"README.md line {block.line} ({block.heading}), paste {paste_number} on {store}:\n{problem}\n"
            f"--- output ---\n{pasted.stdout}\n--- bash's stderr (prompts and errors) ---\n{pasted.stderr[-3000:]}"
            f"\n--- server ---\n{server.logs()[-3000:]}"
        )


# The matcher itself: a README edit that breaks a walkthrough must fail, and `…` must not hide it.


def test_matching_follows_the_ellipsis_rules() -> None:
    shown = '201 {"id":"…",…,"status":"new",…}\n…\npet … is available\n'
    assert mismatch(shown, '201 {"id":"7","name":"Rex","status":"new","flags":[]}\npet 7 is available\n') is None
    assert (
        mismatch(shown, '201 {"id":"7","name":"Rex","status":"new","x":1}\nlog line\nanother\npet 7 is available\n')
        is None
    )
    assert mismatch(shown, '202 {"id":"7","status":"new"}\npet 7 is available\n') is not None  # the status code
    assert mismatch(shown, '201 {"id":"7","status":"in_quarantine"}\npet 7 is available\n') is not None
    assert mismatch(shown, '201 {"id":"7","status":"new"}\npet 7 is in_quarantine\n') is not None  # a wait ran out
    assert mismatch("a\nb\n", "a\nb\nc\n") is not None  # printed more than shown
    assert mismatch("a\nb\n", "a\n") is not None  # printed less
    assert mismatch("a …\n", "a b\nc\n") is not None  # `…` stays within its line
