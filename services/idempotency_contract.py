"""What the `Idempotency-Key` middleware asks of wherever keys are kept (services/idempotency.py).

Two places keep this contract, each depending on this module alone: SQLite in DATA_DIR
(services/idempotency_file.py, the default) and PostgreSQL when DATABASE_URL is set
(services/idempotency_pg.py); services/idempotency_store.py picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from steprunner.step_types import ApiResponse

KEEP_HOURS = 48  # at least 24 h, promised; 48 so a client retrying over a day boundary is still covered


@dataclass(frozen=True)
class Seen:
    """What the table says about a key: nothing yet (`None` from `claim`), or this."""

    fingerprint: str
    state: str
    response: ApiResponse | None


class Keys(Protocol):
    """Where keys are kept: `claim` records a new key as pending (None) or says what was recorded before.

    `in_transaction`: `claim` wrote the key into the running handler's transaction, so a request that
    raises leaves no key without being told (the transaction rolls back)."""

    in_transaction: bool

    async def claim(self, key: str, fingerprint: str) -> Seen | None: ...
    async def settle(self, key: str, response: ApiResponse | None) -> None: ...
