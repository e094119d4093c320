"""Pages of a listing: their size bounds, the opaque cursor that says where the next one starts, and paging
a list held in memory newest first (a pet's timeline; the pets list pages in the store, by the same cursors)."""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Sequence
from typing import TypeVar

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

T = TypeVar("T")


def encode_cursor(key: str) -> str:
    """An opaque cursor meaning "past this key" (a pet's id, a timeline item's id); clients pass it back unchanged."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor points past; ValueError for anything `encode_cursor` did not make."""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor returned by this API") from None
    if not key or not key.isprintable() or encode_cursor(key) != cursor:
        raise ValueError("not a cursor returned by this API")
    return key


def newest_first(
    items: Sequence[T], key: Callable[[T], str], limit: int, cursor: str | None = None
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`, oldest first) newest first: the `limit` items before `cursor`'s key,
    and the cursor of the page after it (None on the last). ValueError for a bad cursor."""
    end = len(items) if cursor is None else bisect.bisect_left(items, decode_cursor(cursor), key=key)
    start = max(0, end - limit)
    page = list(reversed(items[start:end]))
    return page, encode_cursor(key(page[-1])) if start > 0 and page else None
