"""steprunner.testing's launchers with the pet service as their project root, the default of this suite.

The launchers themselves ship with the runtime (runtime/steprunner/testing/); here only the root is chosen.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from steprunner.testing.server import PYTHON, Server, base_env, free_port
from steprunner.testing.server import run_cli as _run_cli
from steprunner.testing.server import start_server as _start_server

REPO_ROOT = Path(__file__).resolve().parents[2]

__all__ = ["PYTHON", "REPO_ROOT", "Server", "base_env", "free_port", "run_cli", "start_server"]


def start_server(
    data_dir: Path,
    env: dict[str, str] | None = None,
    root: Path = REPO_ROOT,
    args: list[str] | None = None,
    wait: bool = True,
) -> Server:
    """`python -m steprunner dev` on the pet service unless `root` says otherwise; ready unless `wait=False`."""
    return _start_server(data_dir, root=root, env=env, args=args, wait=wait)


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, root: Path = REPO_ROOT, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """`python -m steprunner --root ROOT ARGS...` to completion, on the pet service by default."""
    return _run_cli(*args, data_dir=data_dir, root=root, env=env, timeout=timeout)
