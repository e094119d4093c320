"""What the runtime asks of an event journal, whichever one it has.

Two journals keep this contract: SQLite in `DATA_DIR/steprunner.db` (runtime/steprunner/journal/sqlite.py, the
default; the processes of one machine share it) and PostgreSQL when DATABASE_URL is set
(runtime/steprunner/journal/postgres.py; the nodes of several machines share it). The event bus, cron, state
and the `events` CLI talk only to this, so the delivery rules (journal before `emit` returns,
claims with leases, retries with backoff, dead letters, replay) are written once, in
steprunner/events.py, and hold on both.

Times are durations (seconds from now), never instants: each journal reads its own clock, and
the database's is the one clock every node shares.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

HOST = socket.gethostname()


def new_owner_id(node: str | None = None) -> str:
    """`node:pid:token` (the node is this machine's name unless given: steprunner/node.py): enough to tell
    whether the claiming process is still alive, and which claims a restarted node held before it died."""
    return f"{node or HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str, me: str) -> bool:
    """Whether the process behind a claim is gone. Only decidable on this node (the owner's first part is
    ours: the same machine); elsewhere the lease and the heartbeat decide."""
    if owner == me:
        return False
    node, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if node != me.partition(":")[0] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # an earlier process that had our pid (a restart in a container, say)
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state in (b"Z", b"X")  # a zombie is a dead process nobody has reaped yet
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


@dataclass(frozen=True)
class Recovered:
    """What a restarted node found of its earlier processes that died: their owner ids, and the deliveries
    they held (now pending again)."""

    owners: tuple[str, ...] = ()
    released: tuple[int, ...] = ()


class JournalError(Exception):
    """DATA_DIR or the journal in it cannot be used; the one-line message says which, why, and what to do."""


@dataclass(frozen=True)
class Delivery:
    """One (event, subscriber) pair, claimed by this process to run."""

    id: int
    topic: str
    step: str
    data: Any
    trace_id: str
    attempts: int
    max_attempts: int


class NewDelivery(NamedTuple):
    """A delivery to journal: `delay` seconds before it is due (a queue's `delaySeconds`)."""

    topic: str
    step: str
    data: Any
    trace_id: str
    max_attempts: int
    delay: float


class ClaimLost(Exception):
    """The delivery's claim was taken over by another process (this one was presumed dead) before its
    handler's transaction committed: everything it wrote rolled back, and the other process runs it."""


class Transaction(Protocol):
    """What the event bus sees of a handler's transaction (PostgreSQL's is journal/transaction.py)."""

    emitted: list[NewDelivery]  # journaled as it commits

    async def rollback(self) -> None: ...


class EventJournal(Protocol):
    owner: str  # `host:pid:token`: this process, as its claims name it
    where: str  # for messages: the file, or the database without its password

    # deliveries
    async def insert(self, rows: list[NewDelivery], lease_seconds: float | None) -> list[int]:
        """Journal `rows`, one id each. With a lease, those due now are inserted already claimed by
        this process (it runs them at once); without one (a process not delivering) all are pending."""
        ...

    async def claim(self, limit: int, lease_seconds: float, steps: list[str]) -> list[Delivery]:
        """Take over abandoned claims, then claim up to `limit` due deliveries of `steps`, in id order."""
        ...

    async def ack(self, delivery_id: int) -> None: ...
    async def retry_later(self, delivery_id: int, delay: float, error: str) -> None: ...
    async def dead_letter(self, delivery_id: int, error: str) -> None: ...
    async def renew(self, lease_seconds: float) -> None:
        """Extend every claim this process holds (it is running them)."""
        ...

    async def heartbeat(self, lease_seconds: float) -> None:
        """Say this process is alive for `lease_seconds` more: its claims are not taken over meanwhile."""
        ...

    async def recover(self) -> Recovered:
        """At start-up: put back at once the claims of this node's earlier processes that died (a SIGKILL,
        a crash), instead of waiting for their leases; another node's claims are never touched."""
        ...

    async def in_flight(self) -> list[tuple[int, Any]]:
        """(id, data) of every delivery still to run: pending, or claimed by a process at work."""
        ...

    async def release(self) -> int:
        """Hand this process's claims back (shutdown): pending for another process, the try not counted."""
        ...

    # one transaction per handler (runtime/steprunner/journal/transaction.py)
    def handler_transaction(self) -> Transaction | None:
        """A transaction for a handler about to run, shared with the pet store; None when the journal
        and the store can't share one (SQLite and pets.json: each write commits on its own)."""
        ...

    async def commit_handler(self, tx: Transaction, lease_seconds: float | None, ack: int | None) -> list[int]:
        """Journal `tx.emitted` (claimed by this process for `lease_seconds`, as `insert`), ack delivery
        `ack` (ClaimLost if this process no longer holds it), and commit all with the handler's writes.
        Returns the new deliveries' ids. Raises, everything rolled back, if any of it fails."""
        ...

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` (on the caller's loop) whenever another process journals work it could run."""
        ...

    # the `events` CLI
    async def stats(self) -> list[dict[str, Any]]:
        """Per (topic, step): counts `pending`, `claimed`, `dead`."""
        ...

    async def dead_letters(self) -> list[dict[str, Any]]:
        """Dead deliveries in id order: id, topic, step, data (JSON text), trace_id, attempts, last_error."""
        ...

    async def replay(self, delivery_id: int | None) -> int:
        """Dead -> pending with a fresh try count; None replays every dead delivery."""
        ...

    # cron
    async def claim_cron_tick(self, step: str, tick: int) -> bool:
        """True for exactly one process per (step, tick), across every process sharing the journal."""
        ...

    # `context.state`
    async def state_get(self, group_id: str, key: str) -> Any: ...
    async def state_set(self, group_id: str, key: str, value: Any) -> Any: ...
    async def state_delete(self, group_id: str, key: str) -> Any: ...
    async def state_get_group(self, group_id: str) -> list[Any]: ...
    async def state_clear(self, group_id: str) -> None: ...

    def close(self) -> None: ...
