"""The staff key as a request sends it (`Authorization: Bearer <key>`), read and checked in one place.

Used by the runtime's HTTP guard, the streams' WebSocket hub and the service's staff middleware,
so the three agree on what counts as sending the key.
"""

from __future__ import annotations

import hmac


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header: None when none was sent, "" when it is not `Bearer`."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def is_staff_key(sent: str | None, key: str) -> bool:
    """Whether `sent` is `key`, compared in constant time (a wrong key takes as long as a right one)."""
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), key.encode())
