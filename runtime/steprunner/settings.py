"""Runtime settings, read once from the environment (and `.env`, loaded by the CLI).

Every knob has a default that suits a developer's machine; the README lists them all.
Those about exposure: `HOST` (bound to anything but loopback, `STAFF_API_KEY` is required),
`ALLOWED_HOSTS` (Host names served besides loopback and the bound address; `*` for any),
`STAFF_API_KEY` (a bearer key for the runtime's own routes), and the connection limits
`STEPRUNNER_HEADER_TIMEOUT_SECONDS`, `STEPRUNNER_KEEP_ALIVE_SECONDS`, `STEPRUNNER_BODY_TIMEOUT_SECONDS`,
`STEPRUNNER_LIMIT_CONCURRENCY` (HTTP requests), `STEPRUNNER_WEBSOCKETS_MAX`, `STEPRUNNER_WEBSOCKETS_PER_CLIENT`.
`STEPRUNNER_STRICT=1` refuses what Motia only warns about (see `strict_from_env`).
`STEPRUNNER_FAULT` is for tests only (see `Faults`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(Exception):
    """A setting that cannot work; the message names the variable and what to set instead."""


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


DEFAULT_DATA_DIR = ".data"
JOURNAL_FILE_NAME = "steprunner.db"  # in DATA_DIR: the SQLite journal
STRICT_VARIABLE = "STEPRUNNER_STRICT"


def strict_from_env() -> bool:
    """Whether `STEPRUNNER_STRICT` asks for strict mode (`1`, `true`, `yes`, `on`).

    Lax (the default) behaves as Motia 0.17 does with a project it half-accepts: a step whose config
    is invalid, a `*.step.py` file and an emit of an undeclared topic are logged and skipped. Strict
    refuses them, so a project that starts strict also starts cleanly under Motia (this project's
    own tests run strict).
    """
    return (os.environ.get(STRICT_VARIABLE) or "").strip().lower() in ("1", "true", "yes", "on")


def data_dir_from_env() -> Path:
    """DATA_DIR from the environment (default `.data`), absolute, resolved against the working folder.

    The one place that reads DATA_DIR: the runtime's journal and the project's stores both call it,
    so they can never disagree about where the data lives.
    """
    return Path(os.path.abspath(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR))


DATABASE_VARIABLE = "DATABASE_URL"
DATABASE_POLL_SECONDS = 5.0


def database_url_from_env() -> str | None:
    """DATABASE_URL (`postgresql://user:password@host:port/db`), or None when unset or empty.

    The one place that reads it: set, the pets, the event journal, state, cron tick claims,
    idempotency keys, stream items and shared traces live in that PostgreSQL database and several
    nodes share them; unset, everything stays in DATA_DIR (the embedded default). SettingsError
    for anything but a PostgreSQL URL.
    """
    url = (os.environ.get(DATABASE_VARIABLE) or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            f"{DATABASE_VARIABLE} must be a postgresql:// URL (postgresql://user:password@host:5432/dbname); "
            "unset it to keep the data in DATA_DIR"
        )
    return url


DATABASE_POOL_SIZE_VARIABLE = "STEPRUNNER_DATABASE_POOL_SIZE"
DATABASE_POOL_TIMEOUT_VARIABLE = "STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS"
DATABASE_POOL_MIN_SIZE = 3  # one handler transaction and the two connections kept spare for short statements


@dataclass(frozen=True)
class DatabasePool:
    """A process's connections to DATABASE_URL: at most `size`, and how long a caller waits for one
    before it is answered 503 (runtime/steprunner/db/pool.py, runtime/steprunner/db/busy.py)."""

    size: int
    timeout_seconds: float


# 10 a node: PostgreSQL's default max_connections is 100. Waiting longer than 10 s for a connection:
# the database is overloaded or out of reach.
DATABASE_POOL_DEFAULT = DatabasePool(size=10, timeout_seconds=10.0)


def database_pool_from_env() -> DatabasePool:
    """STEPRUNNER_DATABASE_POOL_SIZE and STEPRUNNER_DATABASE_POOL_TIMEOUT_SECONDS (DATABASE_POOL_DEFAULT's when
    unset); SettingsError for a size below DATABASE_POOL_MIN_SIZE or a timeout that is not a positive number."""
    try:
        size = _int(DATABASE_POOL_SIZE_VARIABLE, DATABASE_POOL_DEFAULT.size)
        timeout = _float(DATABASE_POOL_TIMEOUT_VARIABLE, DATABASE_POOL_DEFAULT.timeout_seconds)
    except ValueError as exc:
        raise SettingsError(
            f"{DATABASE_POOL_SIZE_VARIABLE} and {DATABASE_POOL_TIMEOUT_VARIABLE} must be numbers ({exc})"
        ) from None
    if size < DATABASE_POOL_MIN_SIZE:
        raise SettingsError(f"{DATABASE_POOL_SIZE_VARIABLE} must be at least {DATABASE_POOL_MIN_SIZE} (got {size})")
    if not timeout > 0:
        raise SettingsError(f"{DATABASE_POOL_TIMEOUT_VARIABLE} must be a positive number of seconds (got {timeout:g})")
    return DatabasePool(size, timeout)


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server to this machine (`localhost`, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in (raw or "").split(",") if name.strip())


def cron_override_variable(step_name: str) -> str:
    """`DeletionReaper` -> `STEPRUNNER_CRON_DELETION_REAPER`: the variable that replaces a step's schedule."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", step_name)
    return "STEPRUNNER_CRON_" + re.sub(r"[^A-Za-z0-9]+", "_", snake).strip("_").upper()


FAULT_VARIABLE = "STEPRUNNER_FAULT"
INJECTED_FAULT_MESSAGE = "injected fault: journal write failed"


@dataclass(frozen=True)
class Faults:
    """Test-only fault injection, from `STEPRUNNER_FAULT` (read once at start-up; unset in normal use).

    A comma-separated list of `fail:<topic>` and `kill:<topic>`. When a step emits (or the CLI
    publishes) such a topic, `EventBus.publish` -- before journaling anything -- either raises
    `OSError("injected fault: journal write failed")` (`fail`) or sends the process SIGKILL
    (`kill`). Tests use it to show that work whose events never reached the journal is still
    completed by some other path (a reconciler). The topic `stream:<name>` does the same to every
    `set` of the stream `<name>`, before the item is written (`streams.Stream.set`).
    """

    fail: frozenset[str] = frozenset()
    kill: frozenset[str] = frozenset()

    @property
    def topics(self) -> frozenset[str]:
        return self.fail | self.kill

    @classmethod
    def parse(cls, raw: str | None) -> Faults:
        fail: set[str] = set()
        kill: set[str] = set()
        for item in filter(None, (part.strip() for part in (raw or "").split(","))):
            action, _, topic = item.partition(":")
            if action not in ("fail", "kill") or not topic:
                raise SettingsError(
                    f"{FAULT_VARIABLE}: {item!r} is not `fail:<topic>` or `kill:<topic>` "
                    "(a test-only setting; unset it)"
                )
            (fail if action == "fail" else kill).add(topic)
        return cls(frozenset(fail), frozenset(kill))

    def inject(self, topic: str) -> None:
        """Act out the fault configured for `topic` (call only when `topic in self.topics`)."""
        if topic in self.kill:
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(INJECTED_FAULT_MESSAGE)


@dataclass(frozen=True)
class Settings:
    root: Path
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path = field(default=Path(".data"))
    max_body_bytes: int = 1024 * 1024
    retry_backoff_seconds: float = 1.0
    poll_seconds: float = 0.5
    lease_seconds: float = 30.0
    max_handlers: int = 256  # event handlers one process runs at once; the rest wait in the journal
    default_handler_timeout: float = 30.0
    shutdown_grace_seconds: float = 10.0
    journal_sync: str = "FULL"
    faults: Faults = field(default_factory=Faults)
    allowed_hosts: tuple[str, ...] = ()  # besides loopback; "*" allows any Host
    staff_api_key: str | None = None
    header_timeout_seconds: float = 10.0
    keep_alive_seconds: int = 5
    limit_concurrency: int = 2048  # HTTP requests handled at once (steprunner.http.admission), WebSockets apart
    body_timeout_seconds: float = 30.0  # a request body must arrive whole within this, or 408
    websockets_max: int = 1024
    websockets_per_client: int = 64  # from one client address
    strict: bool = False
    database_url: str | None = field(default=None, repr=False)  # holds the password

    @classmethod
    def from_env(cls, root: Path) -> Settings:
        database_url = database_url_from_env()
        if database_url is not None:
            # read again by runtime/steprunner/db/pool.py; a bad value stops start-up here, named
            database_pool_from_env()
        return cls(
            root=root.resolve(),
            host=os.environ.get("HOST") or "127.0.0.1",
            port=_int("PORT", 3000),
            data_dir=data_dir_from_env(),
            max_body_bytes=_int("STEPRUNNER_MAX_BODY_BYTES", 1024 * 1024),
            retry_backoff_seconds=_float("STEPRUNNER_RETRY_BACKOFF_SECONDS", 1.0),
            # on PostgreSQL other nodes' work wakes the sweep (LISTEN/NOTIFY): the poll is only a safety net
            poll_seconds=_float("STEPRUNNER_POLL_SECONDS", 0.5 if database_url is None else DATABASE_POLL_SECONDS),
            lease_seconds=_float("STEPRUNNER_LEASE_SECONDS", 30.0),
            max_handlers=_int("STEPRUNNER_MAX_HANDLERS", 256),
            default_handler_timeout=_float("STEPRUNNER_HANDLER_TIMEOUT_SECONDS", 30.0),
            shutdown_grace_seconds=_float("STEPRUNNER_SHUTDOWN_GRACE_SECONDS", 10.0),
            journal_sync=(os.environ.get("STEPRUNNER_JOURNAL_SYNC") or "FULL").upper(),
            faults=Faults.parse(os.environ.get(FAULT_VARIABLE)),
            allowed_hosts=_names(os.environ.get("ALLOWED_HOSTS")),
            staff_api_key=os.environ.get("STAFF_API_KEY") or None,
            header_timeout_seconds=_float("STEPRUNNER_HEADER_TIMEOUT_SECONDS", 10.0),
            keep_alive_seconds=_int("STEPRUNNER_KEEP_ALIVE_SECONDS", 5),
            limit_concurrency=_int("STEPRUNNER_LIMIT_CONCURRENCY", 2048),
            body_timeout_seconds=_float("STEPRUNNER_BODY_TIMEOUT_SECONDS", 30.0),
            websockets_max=_int("STEPRUNNER_WEBSOCKETS_MAX", 1024),
            websockets_per_client=_int("STEPRUNNER_WEBSOCKETS_PER_CLIENT", 64),
            strict=strict_from_env(),
            database_url=database_url,
        )

    @property
    def host_allow_list(self) -> list[str]:
        """Host names the server answers to: loopback always, the address it is bound to, and ALLOWED_HOSTS."""
        bound = [self.host.lower()] if self.host not in ("0.0.0.0", "::", "") else []
        return list(dict.fromkeys([*LOOPBACK_NAMES, *bound, *self.allowed_hosts]))

    @property
    def journal_path(self) -> Path:
        return self.data_dir / JOURNAL_FILE_NAME
