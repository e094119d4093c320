"""`DatabaseBusy`: no connection of the process's pool came free (or could be made) within the pool's timeout;
`DatabaseUnavailable`, a kind of it: the connection in use was lost (the database stopped, restarted or crashed).

Not a bug but "try again": runtime/steprunner/db/pool.py raises it in place of psycopg_pool's PoolTimeout,
and it is no psycopg error, so the journal's and the stream store's error mapping let it through
as itself. An API request that meets it is answered 503 with `Retry-After` (runtime/steprunner/http/routes.py), an
event handler that meets it has failed one try and is retried, as for any failure; the pet store
turns it into its own StoreBusyError, so the steps answer 503 on real Motia too. A lost connection is
the same "try again" to a client (runtime/steprunner/db/pool.py raises DatabaseUnavailable in place of
psycopg's connection errors), so every route answers an outage 503 too, not 500. It lives here,
not in database.py, so the HTTP layer knows it without importing psycopg.
"""

from __future__ import annotations

# What a 503 asks a client to wait, the runtime's and the pet service's (services/responses.py):
# a connection or a file lock is usually free again within a second.
RETRY_AFTER_SECONDS = 1


class DatabaseBusy(Exception):
    """No pooled connection in time: this node runs more at once than its pool holds, or the database is
    overloaded or out of reach."""


class DatabaseUnavailable(DatabaseBusy):
    """The database went away under a statement (stopped, restarting, crashed, unreachable): what the
    statement's transaction wrote rolled back, unless the connection was lost during its COMMIT."""
