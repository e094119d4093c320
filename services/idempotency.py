"""`Idempotency-Key`: a client's retry of a change answers what the first try answered, and changes nothing more.

Motia API middleware (`async def middleware(req, context, next)`), so the same step files keep the
promise on steprunner and on real Motia (docs/decisions.md#21):
- a request with a key not seen before runs, and its answer is kept with the key;
- the same key with the same request (same route, path parameters and JSON body) gets that answer
  again, with `Idempotent-Replayed: true`, and runs nothing;
- the same key with a different request is a 422; while the first is still running, a 409.

Keys live in SQLite, `DATA_DIR/idempotency.db` (services/idempotency_file.py: one small table
shared by every process), or with DATABASE_URL set in PostgreSQL (services/idempotency_pg.py: every
node shares them, so a retry may reach any node), for KEEP_HOURS, and survive restarts;
services/idempotency_store.py picks one. A 5xx answer forgets the key (the change did not happen;
a retry may run it again). The database work runs off the event loop.

In SQLite, and on real Motia, the key is recorded as pending in a transaction of its own *before*
the handler runs, so two concurrent tries can't both run (the second gets 409), and its answer in
another one after. If the process dies while a request runs, its key stays pending and a retry is
told so (409): the change may or may not have been made, and only the client can look (GET)
before trying again with a new key.

On steprunner with DATABASE_URL the handler runs in one transaction with its writes, and the key
is written in that transaction (`Keys.in_transaction`): it commits with the change or not at all.
A crash or a failed commit leaves no key, so the retry runs the change; a concurrent try waits for
the first and replays its answer (services/idempotency_pg.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING

from services.idempotency_contract import KEEP_HOURS, Seen
from services.idempotency_store import keys_store

if TYPE_CHECKING:
    from steprunner.step_types import ApiMiddleware, ApiNext, ApiRequest, ApiResponse, Context

HEADER = "idempotency-key"
MAX_KEY_CHARS = 255


def fingerprint(step: str, req: ApiRequest) -> str:
    """Same route, same path parameters, same JSON body (key order and spacing aside)."""
    canonical = json.dumps([step, req.get("pathParams") or {}, req.get("body")], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(step: str) -> ApiMiddleware:
    """The middleware for one API step (`step` names it in the fingerprint: a key is one request)."""

    async def middleware(req: ApiRequest, context: Context, next_fn: ApiNext) -> ApiResponse:
        key = (req.get("headers") or {}).get(HEADER)
        if key is None:
            return await next_fn()
        if not 0 < len(key) <= MAX_KEY_CHARS or not key.isprintable():
            return _answer(400, f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters")
        keys = keys_store()
        mine = fingerprint(step, req)
        seen = await keys.claim(key, mine)
        if seen is not None:
            return _replay(seen, mine)
        try:
            response = await next_fn()
        except BaseException:
            if not keys.in_transaction:  # else it rolls back with the handler's transaction
                await asyncio.shield(keys.settle(key, None))
            raise
        failed = (
            not isinstance(response, dict) or not isinstance(response.get("status"), int) or response["status"] >= 500
        )
        await keys.settle(key, None if failed else _keepable(response))
        return response

    middleware.openapi = OPENAPI  # type: ignore[attr-defined]  # read by steprunner's OpenAPI document
    return middleware


OPENAPI = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
            "description": (
                f"Makes a retry safe: the same key with the same request answers the first answer again "
                f"(header `Idempotent-Replayed: true`) and changes nothing. Kept {KEEP_HOURS} hours."
            ),
        }
    ],
    "responses": {
        "400": "The Idempotency-Key is not 1 to 255 printable characters.",
        "409": "A request with this Idempotency-Key is still running, or its server stopped while running it "
        "(not with DATABASE_URL on steprunner: there a concurrent request waits for the first and gets its answer).",
        "422": "This Idempotency-Key was already used for a different request.",
    },
}


def _replay(seen: Seen, mine: str) -> ApiResponse:
    if seen.fingerprint != mine:
        return _answer(
            422, "This Idempotency-Key was already used for a different request; use a new key for a new request"
        )
    if seen.state == "pending" or seen.response is None:
        return _answer(
            409,
            "A request with this Idempotency-Key is still running, or its server stopped while running it; "
            "check the result (GET) before retrying with a new key",
        )
    headers = {**(seen.response.get("headers") or {}), "Idempotent-Replayed": "true"}
    return {**seen.response, "headers": headers}


def _keepable(response: ApiResponse) -> ApiResponse:
    """What is kept: status, body and the step's own headers (not the trace id of the first try)."""
    headers = {k: v for k, v in (response.get("headers") or {}).items() if k.lower() != "x-trace-id"}
    kept: ApiResponse = {"status": response["status"], "body": response.get("body")}
    if headers:
        kept["headers"] = headers
    return kept


def _answer(status: int, message: str) -> ApiResponse:
    return {"status": status, "body": {"message": message}}
