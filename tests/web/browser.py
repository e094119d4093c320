"""Launching Debian's Chromium through Playwright, and keeping pages off the network."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
# The flags this machine's Chromium needs as root and offline: without the background-networking
# ones it keeps trying (and failing) to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium for the whole session (about a second to start)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class OutsideRequests:
    """Notes every request a page makes to anything but 127.0.0.1 (`page.on("request", ...)`).

    A listener rather than `context.route`: with Playwright's sync API a route handler runs
    only while the test is inside a Playwright call, so a request the page makes while the
    test waits on something else (a file being written) would hang until then. Chromium
    cannot reach other hosts anyway: `--host-resolver-rules` resolves no name but localhost.
    """

    def __init__(self) -> None:
        self.urls: list[str] = []

    def note(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOCAL_HOSTS:
            self.urls.append(request.url)
