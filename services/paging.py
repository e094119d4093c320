"""Pages of a listing: their size bounds and the opaque cursor that says where the next one starts."""

from __future__ import annotations

import base64
import binascii

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def encode_cursor(pet_id: str) -> str:
    """An opaque cursor meaning "after this id"; clients pass it back unchanged."""
    return base64.urlsafe_b64encode(pet_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor points after; ValueError for anything `encode_cursor` did not make."""
    try:
        pet_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor returned by this API") from None
    if not pet_id or not pet_id.isprintable() or encode_cursor(pet_id) != cursor:
        raise ValueError("not a cursor returned by this API")
    return pet_id
