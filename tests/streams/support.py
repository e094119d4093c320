"""Helpers for the stream tests: the fixture project, and Motia's own Node client run by `watch.mjs`.

The client (`@motiadev/stream-client-node`, pinned to motia 0.17.6-beta.187's version in
client/package.json and client/package-lock.json) is installed by npm into client/node_modules
(git-ignored) on first use, or by `make stream-client`. Without node or npm, or when the registry
does not answer, `client_unavailable_reason()` says why, and the tests that need it skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until

HERE = Path(__file__).parent
FIXTURE_ROOT = HERE / "fixture_project"
CLIENT_DIR = HERE / "client"
CLIENT_PACKAGE = CLIENT_DIR / "node_modules" / "@motiadev" / "stream-client-node" / "package.json"
CLIENT_VERSION = "0.17.6-beta.187"


def client_unavailable_reason() -> str | None:
    """Install the Node client if needed; None when it is ready, else why it is not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node and npm are needed to run Motia's stream client (@motiadev/stream-client-node)"
    if CLIENT_PACKAGE.exists() and json.loads(CLIENT_PACKAGE.read_text())["version"] == CLIENT_VERSION:
        return None
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not CLIENT_PACKAGE.exists():
        return f"npm could not install @motiadev/stream-client-node@{CLIENT_VERSION} into {CLIENT_DIR}: {(done.stderr or done.stdout).strip()[-500:]}"
    return None


def ws_url(base_url: str) -> str:
    return "ws://" + base_url.split("://", 1)[1]


class Watcher:
    """`node watch.mjs`: one subscription of Motia's Node client; its output lines, parsed, in `lines`."""

    def __init__(
        self,
        base_url: str,
        stream: str,
        group: str,
        item: str | None = None,
        events: tuple[str, ...] = ("error",),
        key: str | None = None,
        sort: str | None = None,
    ) -> None:
        args = [
            "node",
            "watch.mjs",
            ws_url(base_url),
            stream,
            group,
            *([item] if item else []),
            "--events",
            ",".join(events),
        ]
        if key:
            args += ["--key", key]
        if sort:
            args += ["--sort", sort]  # the group's state kept in this field's order
        self.lines: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            args, cwd=CLIENT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The raw server messages, in the order the client got them."""
        return [line["message"] for line in list(self.lines) if line["kind"] == "message"]

    @property
    def state(self) -> Any:
        """The subscription's state after the last change the client applied."""
        states = [line["state"] for line in list(self.lines) if line["kind"] == "state"]
        return states[-1] if states else None

    def kinds(self) -> list[str]:
        return [m["event"]["type"] for m in self.messages]

    def wait(self, predicate: Callable[[Watcher], Any], message: str, timeout: float = 15.0) -> Any:
        def check() -> Any:
            if self.proc.poll() is not None and not predicate(self):
                raise AssertionError(
                    f"the node client exited with {self.proc.returncode}: {self.proc.stderr.read() if self.proc.stderr else ''}"
                )
            return predicate(self)

        try:
            return wait_until(check, timeout=timeout, message=message)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nclient output: {self.lines}") from None

    def wait_synced(self) -> Watcher:
        """Until the first sync arrived (the join is registered: later changes reach this client)."""
        self.wait(lambda w: "sync" in w.kinds(), "the initial sync")
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
