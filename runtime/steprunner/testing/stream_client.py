"""Motia's own Node stream client (`@motiadev/stream-client-node`) as a test's subscriber, run by `watch.mjs`.

A client folder holds `package.json`, its lock and `watch.mjs` (the runtime's is runtime/tests/streams/client);
npm installs the client there on first use. Without node or npm, or when the registry does not answer,
`client_unavailable_reason` says why, so the tests that need it skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steprunner.testing.waiting import wait_until

CLIENT_VERSION = "0.17.6-beta.187"


def client_package(client_dir: Path) -> Path:
    return client_dir / "node_modules" / "@motiadev" / "stream-client-node" / "package.json"


def client_unavailable_reason(client_dir: Path) -> str | None:
    """Install the Node client into `client_dir` if needed; None when it is ready, else why it is not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node and npm are needed to run Motia's stream client (@motiadev/stream-client-node)"
    package = client_package(client_dir)
    if package.exists() and json.loads(package.read_text())["version"] == CLIENT_VERSION:
        return None
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not package.exists():
        said = (done.stderr or done.stdout).strip()[-500:]
        return f"npm could not install @motiadev/stream-client-node@{CLIENT_VERSION} into {client_dir}: {said}"
    return None


def ws_url(base_url: str) -> str:
    return "ws://" + base_url.split("://", 1)[1]


class Watcher:
    """`node watch.mjs`: one subscription of Motia's Node client; its output lines, parsed, in `lines`."""

    def __init__(
        self,
        client_dir: Path,
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
            args, cwd=client_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
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
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"the node client exited with {self.proc.returncode}: {stderr}")
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
