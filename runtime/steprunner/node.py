"""This node's name, stable across restarts: `NODE_ID`, else an id kept in `DATA_DIR/node-id`.

Every claim a process takes on a delivery names its owner as `node:pid:token`. A process restarted
after a crash on the same node (the same `NODE_ID`, or the same `DATA_DIR`) knows from the node part
which claims were its own earlier process's and takes them back at once, instead of waiting for
their leases (runtime/steprunner/recovery.py); another node's claims it never touches.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from steprunner.settings import SettingsError

NODE_ID_VARIABLE = "NODE_ID"
NODE_FILE = "node-id"
SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class NodeIdError(SettingsError):
    """`NODE_ID` (or the id in DATA_DIR) cannot name a node; the message says what it must be."""


def node_id(data_dir: Path) -> str:
    """`NODE_ID` if set, else the id in `DATA_DIR/node-id`, made (random) the first time."""
    given = os.environ.get(NODE_ID_VARIABLE)
    if given:
        if not SHAPE.fullmatch(given):
            raise NodeIdError(f"{NODE_ID_VARIABLE}={given!r}: use 1 to 64 characters of A-Z a-z 0-9 . _ -")
        return given
    path = data_dir / NODE_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        kept = ""
    if SHAPE.fullmatch(kept):
        return kept
    made = f"node-{secrets.token_hex(6)}"
    temp = path.with_name(f".{NODE_FILE}.{os.getpid()}")
    temp.write_text(made + "\n", encoding="ascii")
    try:
        os.link(temp, path)  # the first process to name the node wins; the others read its name
    except FileExistsError:
        kept = path.read_text(encoding="ascii").strip()
        if not SHAPE.fullmatch(kept):
            raise NodeIdError(
                f"{path} does not hold a node id: remove it (a new one is made) or set {NODE_ID_VARIABLE}"
            ) from None
        return kept
    finally:
        temp.unlink(missing_ok=True)
    return made
