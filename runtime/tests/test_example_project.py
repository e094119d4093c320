"""The example Motia project (runtime/examples/helpdesk/) and its page, runtime/docs/run-a-motia-project.md.

The page's blocks run as a reader pastes them (steprunner.testing.paste), on a copy of runtime/ as a fresh
checkout has it (tests/as_a_user.py), in a user's environment: the first from the checkout's root, as the
page says (it installs steprunner into a new venv, about a minute), the others in the example's folder. The
block under `<!-- in a terminal of its own: ... -->` starts the server and runs in the background until the
end (Ctrl-C); the ```text block after a block is what it prints (steprunner.testing.markdown: `mismatch`),
compared with the output at 100 columns, as without a terminal. The walkthrough runs twice, as a reader
pasting it again would. The other tests run the example with this checkout's steprunner, without a venv.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from steprunner.testing.markdown import SHELL_LANGUAGES, Block, blocks, broken_links, mismatch
from steprunner.testing.paste import paste, pasted_in_background
from steprunner.testing.server import Server, free_port, run_cli
from steprunner.testing.waiting import wait_until
from tests.as_a_user import RUNTIME_DIR, copy_runtime, user_env

PAGE = RUNTIME_DIR / "docs" / "run-a-motia-project.md"
EXAMPLE = RUNTIME_DIR / "examples" / "helpdesk"
BLOCKS = blocks(PAGE.read_text(encoding="utf-8"))


def shown_after(block: Block) -> Block:
    following = BLOCKS[BLOCKS.index(block) + 1]
    assert following.language == "text", f"{PAGE.name} line {block.line}: the block after it must be ```text"
    return following


def page_blocks() -> tuple[Block, Block, Block]:
    """The install block, the server's and the walkthrough, in the page's order."""
    run = [b for b in BLOCKS if b.language in SHELL_LANGUAGES and b.not_run is None]
    assert len(run) == 3, [b.line for b in run]
    install, server, walkthrough = run
    assert server.own_terminal and not install.own_terminal and not walkthrough.own_terminal
    return install, server, walkthrough


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example project, so its .data and __pycache__ stay out of the checkout."""
    root = tmp_path / "helpdesk"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".venv", ".data"))
    return root


def test_the_page_is_linked_from_both_readmes_and_the_runtime_docs_links_resolve() -> None:
    assert "docs/run-a-motia-project.md" in (RUNTIME_DIR / "README.md").read_text(encoding="utf-8")
    assert "runtime/docs/run-a-motia-project.md" in (RUNTIME_DIR.parent / "README.md").read_text(encoding="utf-8")
    for page in [RUNTIME_DIR / "README.md", *sorted((RUNTIME_DIR / "docs").glob("*.md")), EXAMPLE / "README.md"]:
        assert broken_links(page) == [], page.name


def test_steps_names_each_file_of_the_example_it_skips(example: Path, tmp_path: Path) -> None:
    done = run_cli("steps", data_dir=tmp_path / "data", root=example, env={"COLUMNS": ""})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert [line.split()[1] for line in lines[1 : lines.index("")]] == [
        "CountOpenTickets",
        "GetTicket",
        "OpenTicket",
        "TriageTicket",
    ]
    skipped = lines[lines.index("") + 1 :]
    assert skipped[0] == "skipped: 1 file steprunner does not run"
    assert skipped[1].split() == ["FILE", "WHY"]
    assert skipped[2].startswith("steps/page_on_call.step.ts  TypeScript step: it needs Motia's Node.js runtime")


def test_the_examples_api_answers_from_a_real_server(
    server_factory: Callable[..., Server], example: Path, tmp_path: Path
) -> None:
    server = server_factory(root=example, data_dir=tmp_path / "data")
    with server.client() as http:
        opened = http.post("/tickets", json={"title": "Cannot log in", "email": "ana@example.com"})
        assert opened.status_code == 201, opened.text
        ticket = opened.json()
        assert ticket["status"] == "open" and ticket["priority"] is None
        triaged = wait_until(
            lambda: (r := http.get(f"/tickets/{ticket['id']}").json())["status"] == "triaged" and r,
            timeout=15,
            message="TriageTicket to set the priority",
        )
        assert triaged == {**ticket, "status": "triaged", "priority": "high"}
        assert http.post("/tickets", json={"title": ""}).status_code == 400
        assert http.get("/tickets/nope").status_code == 404
    assert "skipped 1 file in other languages (steps/page_on_call.step.ts)" in server.logs()


@pytest.mark.timeout(600)  # a venv and steprunner's dependencies from PyPI: about a minute
def test_the_page_pasted_on_the_example_prints_what_it_shows(tmp_path: Path) -> None:
    install, server_block, walkthrough = page_blocks()
    checkout = tmp_path / "checkout"
    copy_runtime(checkout / "runtime")
    example = checkout / "runtime" / "examples" / "helpdesk"
    port = free_port()
    # python3 is this interpreter's (3.11 or newer), as the page asks; the rest of PATH is the user's
    path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)))
    env = {**user_env(), "PATH": path, "PORT": str(port)}

    pasted = paste(install.text, cwd=checkout, env=env, timeout=540)
    problem = mismatch(shown_after(install).text, pasted.stdout)
    assert problem is None, f"{problem}\n--- output ---\n{pasted.stdout}\n--- stderr ---\n{pasted.stderr[-3000:]}"

    log = tmp_path / "server-terminal.log"
    with log.open("w") as terminal, pasted_in_background(server_block.text, cwd=example, env=env, output=terminal):
        health = f"http://127.0.0.1:{port}/__steprunner/health"
        wait_until(lambda: httpx.get(health, timeout=1.0).status_code == 200, timeout=60, message="the server")
        for paste_number in (1, 2):
            pasted = paste(walkthrough.text, cwd=example, env=env)
            problem = mismatch(shown_after(walkthrough).text, pasted.stdout)
            assert problem is None, (
                f"{PAGE.name} line {walkthrough.line}, paste {paste_number}:\n{problem}\n--- output ---\n"
                f"{pasted.stdout}\n--- stderr ---\n{pasted.stderr[-3000:]}\n--- server ---\n{log.read_text()[-3000:]}"
            )
    assert (example / ".data" / "steprunner.db").is_file(), "the data where the page says"
    assert "Ticket triaged" in log.read_text()
