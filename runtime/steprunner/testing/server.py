"""Start the real server (`python -m steprunner dev`) on a project as a child process, for black-box tests.

Tests and benchmarks run the same launcher, so a benchmark measures what the tests check. The project
root is the caller's; steprunner comes from this interpreter's installation, not from a path.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from steprunner.testing.databases import bound_url
from steprunner.testing.waiting import wait_until

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process: this one, minus anything that would reach a real service.

    Strict mode (`STEPRUNNER_STRICT=1`) by default: the project's own tests hold steprunner to what
    Motia would accept without a warning. Tests of the lax default pass `{"STEPRUNNER_STRICT": ""}`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "STEPRUNNER_", "LOG_"))}
    # DATABASE_URL empty (not unset): a project's .env can't set it either; tests on PostgreSQL pass theirs,
    # or bind the folder to a database (steprunner.testing.databases)
    database_url = bound_url(data_dir) or ""
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            "STEPRUNNER_STRICT": "1",
            "DATABASE_URL": database_url,
        }
    )
    env.update(extra or {})
    return env


class Server:
    """A running `python -m steprunner dev` process, its output captured to a file."""

    def __init__(
        self, data_dir: Path, root: Path, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(
            parents=True, exist_ok=True
        )  # fixture steps record here; with DATABASE_URL the runtime makes nothing there
        self.root = Path(root)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = base_env(self.data_dir, env)
        self._log = tempfile.NamedTemporaryFile(prefix="steprunner-", suffix=".log", delete=False)
        cmd = [
            PYTHON,
            "-m",
            "steprunner",
            "--root",
            str(self.root),
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(args or []),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def logs(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    @property
    def staff_headers(self) -> dict[bytes, bytes]:
        """`Authorization: Bearer <STAFF_API_KEY>` (the key's UTF-8 bytes) when this server's environment has a key,
        else nothing."""
        key = self.env.get("STAFF_API_KEY")
        return {b"Authorization": f"Bearer {key}".encode()} if key else {}

    def wait_ready(self, timeout: float = 20.0) -> Server:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            return (
                httpx.get(f"{self.base_url}/__steprunner/health", headers=self.staff_headers, timeout=1.0).status_code
                == 200
            )

        try:
            wait_until(ready, timeout=timeout, message=f"server on {self.base_url} to be ready")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- server output ---\n{self.logs()}") from None
        return self

    def wait_exit(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Ctrl-C, as a user would; SIGKILL if it does not stop in time."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group: no chance to clean up."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=kwargs.pop("timeout", 10.0), **kwargs)


def start_server(
    data_dir: Path,
    root: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    wait: bool = True,
) -> Server:
    """`python -m steprunner --root ROOT dev` on DATA_DIR=data_dir; ready (health answers) unless `wait=False`."""
    server = Server(data_dir, root=root, env=env, args=args)
    return server.wait_ready() if wait else server


def run_cli(
    *args: str, data_dir: Path, root: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `python -m steprunner --root ROOT ARGS...` to completion and return its output."""
    return subprocess.run(
        [PYTHON, "-m", "steprunner", "--root", str(root), *args],
        cwd=root,
        env=base_env(Path(data_dir), env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
