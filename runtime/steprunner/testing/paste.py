"""A docs page's shell block run as a reader pastes it: the whole block on the input of an interactive bash.

Interactive (`bash -i`), so history expansion is on and a stray `!` fails here as it fails for the reader;
no rc files, prompts `$ ` and `> ` (they go to stderr, with bash's job messages). `paste` waits for the
block to end; `pasted_in_background` is a second terminal's block that keeps running (a server), ended
with Ctrl-C as a reader ends it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO

BASH = ["bash", "--norc", "--noprofile", "-i"]


def _bash_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PS1": "$ ", "PS2": "> "}


def paste(text: str, cwd: Path, env: dict[str, str], timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
    """Run `text` pasted into bash in `cwd`, to its end; its output, status and stderr (prompts included)."""
    return subprocess.run(
        BASH, input=text, cwd=cwd, env=_bash_env(env), capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def pasted_in_background(text: str, cwd: Path, env: dict[str, str], output: IO[str]) -> Iterator[subprocess.Popen[str]]:
    """`text` pasted into a terminal of its own, its output (stdout and stderr) to `output`, while the caller
    goes on; Ctrl-C to the whole terminal at the end (SIGKILL if it is still there after 15 s)."""
    proc = subprocess.Popen(
        BASH,
        stdin=subprocess.PIPE,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=_bash_env(env),
        text=True,
        start_new_session=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(text)
    proc.stdin.close()  # bash reads the block, runs it, and exits when it ends (or at Ctrl-C)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
