"""steprunner as a user installs it: a fresh venv, `pip install` of the checkout's runtime/, and the
`steprunner` command run in a Motia project of the user's own, which has a `services/` package too.

The runtime is built from a copy of runtime/ without the build/ and *.egg-info folders an earlier build
leaves there (tests/as_a_user.py). The project (install_project/) runs from a copy outside the checkout, as a user's
project lives elsewhere (steprunner also puts a project's parent folder on sys.path, as Motia does), so
any path into the checkout, the pet service's `services/` included, shows up as a failure here.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from steprunner.testing.server import free_port
from steprunner.testing.waiting import wait_until
from tests.as_a_user import CHECKOUT, RUNTIME_DIR, copy_runtime, user_env

FIXTURE = Path(__file__).resolve().parent / "install_project"

pytestmark = pytest.mark.timeout(600)  # a venv and steprunner's dependencies from PyPI: about a minute


def run(*cmd: str | Path, cwd: Path, env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with steprunner installed the way a user installs it: `pip install <checkout>/runtime`."""
    base = tmp_path_factory.mktemp("install")
    source = copy_runtime(base / "runtime")
    venv = base / "venv"
    env = user_env(base / "data")
    run(sys.executable, "-m", "venv", venv, cwd=base, env=env, timeout=300)  # ensurepip: slow on a busy machine
    pip = ("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input")
    run(venv / "bin" / "python", *pip, source, cwd=base, env=env, timeout=540)
    return venv


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's Motia project (install_project/), in a folder of its own outside the checkout."""
    root = tmp_path_factory.mktemp("user") / "visits_project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def installed_package(venv: Path) -> Path:
    """Where the venv imports steprunner from (asked from outside the checkout)."""
    done = run(
        venv / "bin" / "python", "-c", "import steprunner; print(steprunner.__file__)", cwd=venv, env=user_env(venv)
    )
    return Path(done.stdout.strip()).parent


def files(package: Path) -> set[str]:
    return {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@contextlib.contextmanager
def dev_server(venv: Path, project: Path, data_dir: Path) -> Iterator[str]:
    """`steprunner dev --port N` in the project folder, as a user starts it; Ctrl-C at the end."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "steprunner"), "dev", "--port", str(port)],
            cwd=project,
            env=user_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"steprunner dev exited with {proc.returncode}:\n{log.read_text()}"
        return httpx.get(f"{base_url}/__steprunner/health", timeout=1.0).status_code == 200

    try:
        wait_until(ready, timeout=30, message="steprunner dev to answer")
        yield base_url
    finally:
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_wheel_carries_the_whole_runtime_and_its_data_files(venv: Path) -> None:
    package = installed_package(venv)
    assert package.is_relative_to(venv), f"steprunner imported from {package}, not from the venv"
    assert not list(package.parent.glob("__editable__*steprunner*")), "an editable install, not a wheel"
    assert files(package) == files(RUNTIME_DIR / "steprunner")
    assert {"py.typed", "web/static/index.html", "db/migrations/0001_journal.sql"} <= files(package)


def test_steprunner_steps_lists_the_users_project(venv: Path, project: Path, tmp_path: Path) -> None:
    done = run(venv / "bin" / "steprunner", "steps", cwd=project, env=user_env(tmp_path / "data"))
    rows = {line.split()[1]: line for line in done.stdout.splitlines()[1:]}
    assert set(rows) == {"RequestVisit", "RecordVisit", "ShowVisit", "Where"}
    assert "POST /visits" in rows["RequestVisit"] and "visit.requested" in rows["RequestVisit"]
    assert "on visit.requested" in rows["RecordVisit"]
    help_text = run(venv / "bin" / "steprunner", "db", "--help", cwd=project, env=user_env(tmp_path / "data")).stdout
    assert "migrate" in help_text


def test_steprunner_dev_runs_the_project_with_its_own_services(venv: Path, project: Path, tmp_path: Path) -> None:
    with dev_server(venv, project, tmp_path / "data") as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        assert http.get("/visits/Rex").status_code == 404
        assert http.post("/visits", json={"name": "Rex"}).status_code == 202
        visit = wait_until(
            lambda: (r := http.get("/visits/Rex")).status_code == 200 and r.json(),
            timeout=15,
            message="RecordVisit to write the visit",
        )
        assert visit == {"name": "Rex", "greeting": "Welcome, Rex!"}

        where = http.get("/where").json()
        assert Path(where["services"]).resolve() == project.resolve() / "services" / "visits.py"
        entries = [(project / entry).resolve() for entry in where["sysPath"]]  # "" is the server's cwd: the project
        assert project.resolve() in entries and any(p.is_relative_to(venv.resolve()) for p in entries), entries
        assert [p for p in entries if p.is_relative_to(CHECKOUT)] == [], where["sysPath"]

        page = http.get("/")
        assert page.status_code == 200 and "<title>steprunner · flows and traces</title>" in page.text
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assert assets, page.text
        for asset in assets:
            assert http.get(asset).status_code == 200, asset
