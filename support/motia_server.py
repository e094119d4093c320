"""Start real Motia (npm `motia@0.17.6-beta.187`) on this project's steps/ for tests.

`start_motia(data_dir)` returns a `MotiaServer` with the surface of `steprunner.testing.server.Server`
(`base_url`, `data_dir`, `logs()`, `stop()`, `kill()`, `client()`), so a black-box test can be
parametrised by runtime. What differs from steprunner, and why the launcher does what it does:

- By default Motia runs as `motia start` with its Workbench off (MOTIA_DOCKER_DISABLE_WORKBENCH):
  the same runtime as `motia dev` (server, BullMQ events, cron, state, the Python runner) without
  Vite, which spends tens of seconds of CPU optimising the Workbench's modules at every start,
  and without the file watcher. It runs in a throwaway copy of the project (steps/, services/,
  motia.config.ts, motia-workbench.json; node_modules/ and python_modules/ linked), so it writes
  nothing into the repository (`types.d.ts`) and stays steady while someone edits steps/. The
  copy sits alone in a fresh temporary folder: Motia puts the project's *parent* folder first on
  each handler's sys.path, so nothing else must live there.
- `workbench=True` runs `motia dev` in place, as `make workbench` does: Vite caches its optimised
  modules in node_modules/ under a key that includes the working folder, so only a stable folder
  shares that cache between runs (and two folders at once overwrite each other's). The Workbench
  writes motia-workbench.json only when a node moves; `types.d.ts` is git-ignored.
- Motia's own state (Redis's append-only files) goes to `--motia-dir`, in the test's data folder.
- Every request and event runs in a fresh `python_modules/bin/python` process that inherits
  this environment, so DATA_DIR reaches the steps' store exactly as under steprunner.
- Motia has no health route: it is ready when it prints "Server ready and listening on port N"
  (N may differ from the port asked for, when that one was taken) and that port answers HTTP.
- Vite's hot-reload socket listens on port + 21678 on all interfaces, so the port is chosen with
  both free.
- Nothing is installed here: `make motia-install` does that. When Motia is not installed,
  `motia_unavailable_reason()` says why (and whether the npm registry answers), for a skip.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from steprunner.testing.server import base_env
from steprunner.testing.waiting import wait_until

MOTIA_VERSION = "0.17.6-beta.187"
REPO_ROOT = Path(__file__).resolve().parents[1]
MOTIA_CLI = REPO_ROOT / "node_modules" / "motia" / "dist" / "cli.mjs"
MOTIA_PYTHON = REPO_ROOT / "python_modules" / "bin" / "python"
REDIS_SERVER = Path("/usr/bin/redis-server")
INSTALL_LOG = REPO_ROOT / "tests" / "artifacts" / "motia-install.log"
# What Motia reads from this project's root; the two installed folders are linked, not copied.
PROJECT_COPIED = ("steps", "services", "motia.config.ts", "motia-workbench.json", "package.json")
PROJECT_LINKED = ("node_modules", "python_modules")
# Another root (a test fixture project) is copied whole, but for these.
NOT_COPIED = {"node_modules", "python_modules", ".data", ".motia", ".venv", ".git", "__pycache__", "types.d.ts"}
HMR_PORT_OFFSET = 21678  # @motiadev/workbench: `hmr: { port: 21678 + port }`, host: true
READY_LINE = re.compile(r"Server ready and listening on port (\d+)")
REGISTERED_STEP = re.compile(r"\[REGISTERED\] Step \((\w+)\) (\S+) registered")


def _npm_registry_answers(timeout: float = 10.0) -> tuple[bool, str]:
    """`npm ping`: whether the registry can be reached, and what npm said."""
    npm = shutil.which("npm")
    if npm is None:
        return False, "npm is not installed"
    try:
        done = subprocess.run([npm, "ping", "--loglevel=error"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"npm ping did not answer within {timeout:g}s"
    said = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, (said[-1] if said else f"exit {done.returncode}")


def _installed_motia_version() -> str | None:
    try:
        return json.loads((MOTIA_CLI.parents[1] / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def motia_unavailable_reason() -> str | None:
    """None when Motia can be started here; otherwise one line saying what is missing and why."""
    missing: list[str] = []
    if shutil.which("node") is None:
        missing.append("node is not on PATH")
    version = _installed_motia_version()
    if version is None:
        missing.append("node_modules/motia is not installed")
    elif version != MOTIA_VERSION:
        missing.append(f"node_modules/motia is {version}, not the pinned {MOTIA_VERSION}")
    if not MOTIA_PYTHON.exists():
        missing.append("python_modules/ (built by `npx motia install`) is missing")
    if not REDIS_SERVER.exists():
        missing.append(f"{REDIS_SERVER} (Debian's redis-server) is missing")
    if not missing:
        return None
    reachable, said = _npm_registry_answers()
    registry = "the npm registry answers" if reachable else f"the npm registry cannot be reached ({said})"
    hint = f"; last install log: {INSTALL_LOG.relative_to(REPO_ROOT)}" if INSTALL_LOG.exists() else ""
    return f"real Motia unavailable: {'; '.join(missing)}; {registry}; `make motia-install` installs it{hint}"


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_motia_port() -> int:
    """A port free on 127.0.0.1 whose Vite socket (port + 21678, all interfaces) is free too."""
    for _ in range(200):
        port = random.randint(20000, 65535 - HMR_PORT_OFFSET - 1)
        if _bindable(port, "127.0.0.1") and _bindable(port + HMR_PORT_OFFSET, "0.0.0.0"):
            return port
    raise RuntimeError("no free port pair for motia dev and its Vite socket")


def motia_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the steprunner tests' (DATA_DIR, no OPENAI_*), plus what Motia needs here."""
    env = {k: v for k, v in base_env(data_dir).items() if not k.startswith("MOTIA_")}
    env.update(
        {
            "MOTIA_ANALYTICS_DISABLED": "true",  # no usage reports from the server
            "REDISMS_SYSTEM_BINARY": str(REDIS_SERVER),  # redis-memory-server would download Redis
            "REDISMS_DISABLE_POSTINSTALL": "1",
            "NO_COLOR": "1",  # plain log lines to match on
        }
    )
    env.update(extra or {})
    return env


def copy_project(root: Path = REPO_ROOT) -> Path:
    """A throwaway copy of a project for one `motia dev`, alone in its own temporary folder.

    Motia and its Python venv are this repository's (linked); so is motia.config.ts when the
    project has none (without one, `motia dev` tries to install plugins this registry lacks).
    """
    root = root.resolve()
    project = Path(tempfile.mkdtemp(prefix="motia-")) / "pet_store"
    project.mkdir()
    names = PROJECT_COPIED if root == REPO_ROOT else sorted(p.name for p in root.iterdir() if p.name not in NOT_COPIED)
    for name in names:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns(*NOT_COPIED))
        elif source.exists():
            shutil.copy2(source, project / name)
    if not (project / "motia.config.ts").exists():
        shutil.copy2(REPO_ROOT / "motia.config.ts", project / "motia.config.ts")
    for name in PROJECT_LINKED:
        (project / name).symlink_to(REPO_ROOT / name, target_is_directory=True)
    return project


class MotiaServer:
    """A running Motia process (`motia start`, or `motia dev` with the Workbench), its output in a file."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        root: Path = REPO_ROOT,
        workbench: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.workbench = workbench
        self._copy = None if workbench else copy_project(Path(root))
        self.root = Path(root) if self._copy is None else self._copy
        self.motia_dir = self.data_dir / ".motia"
        self.port = port if port is not None else free_motia_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = motia_env(self.data_dir, env)
        self._log = tempfile.NamedTemporaryFile(prefix="motia-", suffix=".log", delete=False)
        node = shutil.which("node") or "node"
        if workbench:
            command = ["dev", "--motia-dir", str(self.motia_dir)]
        else:
            self.env["MOTIA_DOCKER_DISABLE_WORKBENCH"] = "1"
            # `motia start` joins --motia-dir to the project folder, absolute or not
            command = ["start", "--motia-dir", os.path.relpath(self.motia_dir, self.root)]
        cmd = [node, str(MOTIA_CLI), *command, "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def logs(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def registered_steps(self) -> dict[str, str]:
        """Step files Motia accepted, from its start-up lines: {"steps/x_step.py": "API"}."""
        return {path: kind for kind, path in REGISTERED_STEP.findall(self.logs())}

    def wait_ready(self, timeout: float = 120.0) -> MotiaServer:
        """Wait for Motia's ready line, take the port it reports, then for that port to answer HTTP."""

        def ready_or_exited() -> bool:
            if self.proc.poll() is not None:
                return True  # stop waiting: reported below
            match = READY_LINE.search(self.logs())
            if match is None:
                return False
            self.port = int(match.group(1))
            self.base_url = f"http://127.0.0.1:{self.port}"
            httpx.get(f"{self.base_url}/__motia", timeout=2.0)  # any answer will do (404 under `motia start`)
            return True

        try:
            wait_until(
                ready_or_exited, timeout=timeout, message=f"motia dev on port {self.port} to be ready", interval=0.1
            )
        except AssertionError as exc:
            self.kill()
            raise AssertionError(f"{exc}\n--- motia output ---\n{self.logs()}") from None
        if self.proc.poll() is not None:
            self.kill()
            raise AssertionError(
                f"motia dev exited with {self.proc.returncode} before it was ready\n--- motia output ---\n{self.logs()}"
            )
        return self

    def wait_exit(self, timeout: float = 20.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Ctrl-C to Motia alone (it stops its Redis itself), then SIGKILL whatever of its group is left."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group (Motia, its Redis, Vite's esbuild): no chance to clean up."""
        self._kill_group()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # every process of the group is gone already
        self.proc.wait()
        self._log.close()  # the file stays, for logs()
        if self._copy is not None:
            shutil.rmtree(self._copy.parent, ignore_errors=True)  # links are removed, not followed

    def client(self, **kwargs: Any) -> httpx.Client:
        """Handlers run in a fresh Python process each: allow more time than against steprunner."""
        return httpx.Client(base_url=self.base_url, timeout=kwargs.pop("timeout", 30.0), **kwargs)


def start_motia(
    data_dir: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    root: Path = REPO_ROOT,
    workbench: bool = False,
    wait: bool = True,
) -> MotiaServer:
    """Start Motia on `root`'s steps, with DATA_DIR and Motia's folder under `data_dir`.

    Ready when it returns: the same surface as `steprunner.testing.server.start_server`. With
    `workbench=True` it is `motia dev` in `root` itself, Workbench and all.

    Raises `MotiaUnavailable` (with the reason to skip on) when Motia is not installed.
    """
    reason = motia_unavailable_reason()
    if reason is not None:
        raise MotiaUnavailable(reason)
    server = MotiaServer(data_dir, env=env, port=port, root=root, workbench=workbench)
    return server.wait_ready() if wait else server


class MotiaUnavailable(RuntimeError):
    """Motia is not installed here; the message says what is missing and whether npm answers."""
