"""The staff key as a request sends it (`Authorization: Bearer <key>`), read and checked in one place.

Used by the runtime's HTTP guard, the streams' WebSocket hub and the service's staff middleware,
so the three agree on what counts as sending the key. One rule everywhere: the key is the UTF-8
bytes of `STAFF_API_KEY`, and what a request sent matches when its bytes are those bytes,
compared in constant time. A header travels as bytes, which ASGI servers (and Node, under real
Motia) hand over decoded as Latin-1: `header_bytes` undoes that, so a client sends the key's UTF-8
bytes in the header; `?authToken=` is percent-encoded UTF-8, as `encodeURIComponent` makes it.
"""

from __future__ import annotations

import hmac

MIN_PUBLIC_KEY_CHARS = 16  # a key that guards a non-loopback bind is at least this long


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header: None when none was sent, "" when it is not `Bearer`."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def header_bytes(value: str) -> bytes:
    """The bytes a header value had on the wire, from the Latin-1 text servers decode it to.

    Text that Latin-1 cannot hold never came from the wire (a caller that passed real text): its
    UTF-8 bytes are what it means."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def is_staff_key(sent: bytes | None, key: str) -> bool:
    """Whether the bytes `sent` are the key's UTF-8 bytes, compared in constant time (a wrong key takes as
    long as a right one)."""
    if not sent:
        return False
    return hmac.compare_digest(sent, key.encode("utf-8"))


def sent_in_header(authorization: str | None) -> bytes | None:
    """The key an `Authorization: Bearer` header (as servers decode it) sent, as bytes; None when none was sent."""
    token = bearer_token(authorization)
    return None if token is None else header_bytes(token)


def too_short_for_a_public_bind(key: str) -> bool:
    """Whether `key` is too short to guard a server bound beyond loopback."""
    return len(key) < MIN_PUBLIC_KEY_CHARS
