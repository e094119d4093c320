"""The stream tests' fixture project, and Motia's own Node client (client/: package.json, its lock, watch.mjs).

npm installs the client (`@motiadev/stream-client-node`, pinned to motia 0.17.6-beta.187's version) into
client/node_modules (git-ignored) on first use, or `make stream-client` does; without node or npm the tests
that need it skip (steprunner.testing.stream_client).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steprunner.testing.stream_client import Watcher, ws_url
from steprunner.testing.stream_client import client_unavailable_reason as _client_unavailable_reason

HERE = Path(__file__).parent
FIXTURE_ROOT = HERE / "fixture_project"
CLIENT_DIR = HERE / "client"

__all__ = ["CLIENT_DIR", "FIXTURE_ROOT", "Watcher", "client_unavailable_reason", "new_watcher", "ws_url"]


def client_unavailable_reason() -> str | None:
    """Install the Node client into client/ if needed; None when it is ready, else why it is not."""
    return _client_unavailable_reason(CLIENT_DIR)


def new_watcher(*args: Any, **kwargs: Any) -> Watcher:
    """`Watcher(base_url, stream, group, item=None, events=("error",), key=None, sort=None)` with this client."""
    return Watcher(CLIENT_DIR, *args, **kwargs)
