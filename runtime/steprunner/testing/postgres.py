"""A throwaway PostgreSQL cluster for tests and benchmarks, from Debian's server binaries.

Never a server that happens to be running: its own cluster in a fresh temp folder, on a free port on
127.0.0.1, with a random password, removed at the end. As root it runs as the `postgres` user (PostgreSQL
refuses root). A session killed before its end leaves its cluster; the next one removes it.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from steprunner.testing.server import free_port

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
OWNER = "postgres"  # the cluster's operating-system user when the tests run as root
SUPERUSER = "postgres"  # the database superuser initdb creates
INSTALL_HINT = "Debian's postgresql package provides them (`make postgres` in the pet service)"
PREFIX = "steprunner-pg-"
MADE_BY = "made-by-pid"  # in a cluster's folder: the test process it belongs to


class PostgresUnavailable(Exception):
    """The binaries (or, as root, the user to run them as) are missing: tests needing them skip with this."""


def binaries() -> Path:
    """The newest Debian PostgreSQL's bin folder, else the one of an `initdb` on PATH."""
    for bin_dir in sorted(
        DEBIAN_BINARIES.glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    ):
        if (bin_dir / "initdb").exists() and (bin_dir / "pg_ctl").exists():
            return bin_dir
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable(
        f"PostgreSQL's server binaries are not installed (no {DEBIAN_BINARIES}/*/bin/initdb): {INSTALL_HINT}"
    )


class Cluster:
    """One running throwaway cluster; `stop()` stops it and removes its folder."""

    def __init__(self, durable: bool = False) -> None:
        """`durable`: fsync and synchronous commit as PostgreSQL's defaults have them (the benchmark's
        cluster); the tests' throwaway data skips them."""
        self.bin = binaries()
        self.durable = durable
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam(OWNER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no `{OWNER}` user to run PostgreSQL as: {INSTALL_HINT}"
                ) from None
        self._remove_abandoned()
        self.base = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.base / MADE_BY).write_text(str(os.getpid()))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.password = secrets.token_hex(16)
        self.port = 0
        self._names = itertools.count(1)
        try:
            self._init()
            self._start()
        except BaseException:
            self._remove()
            raise

    def _run(self, *args: str) -> None:
        cmd = [*self._as_owner(), str(self.bin / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _init(self) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            os.chown(self.base, self.owner.pw_uid, self.owner.pw_gid)
            os.chown(pwfile, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        pwfile.unlink()

    def _start(self, port: int | None = None) -> None:
        # throwaway data: no fsync unless durable; a port taken between free_port() and the start gets another try
        for attempt in range(3):
            self.port = port or free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.base}"
                " -c max_connections=300"
            )
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start; its log:\n{self.server_log()}") from None

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (an outage): `fast` disconnects every client, `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def resume(self) -> None:
        """Start a halted server again, on the same port, so its URLs work again."""
        self._start(port=self.port)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def _remove_abandoned(self) -> None:
        """Stop and remove the clusters of test processes that are gone (killed before their teardown)."""
        for marker in Path(tempfile.gettempdir()).glob(f"{PREFIX}*/{MADE_BY}"):
            try:
                os.kill(int(marker.read_text()), 0)
                continue  # its session is still running
            except ProcessLookupError:
                pass
            except (ValueError, OSError):
                continue
            if (marker.parent / "data" / "postmaster.pid").exists():
                subprocess.run(
                    [
                        *self._as_owner(),
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(marker.parent / "data"),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    capture_output=True,
                    timeout=60,
                )
            shutil.rmtree(marker.parent, ignore_errors=True)

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", OWNER, "--"] if self.as_root else []
