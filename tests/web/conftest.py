"""Fixtures for the built-in pages: a real headless Chromium (Debian's), driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium, which `make test`
installs (`make chromium`). Without it these tests skip and say so. Chromium resolves no
host name but localhost, and a test fails if its page tried to reach anything else:
the pages must work with no internet. Each browser test leaves a screenshot under
tests/artifacts/web/ (git-ignored), taken at teardown, pass or fail.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tests.web.browser import CHROMIUM, OutsideRequests, launch

SCREENSHOTS = ARTIFACTS / "web"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break `asyncio.run` in any test that runs meanwhile."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with launch() as browser:
        yield browser


@pytest.fixture
def page(chromium, server_factory, request: pytest.FixtureRequest) -> Iterator[object]:  # noqa: ANN001 - playwright's Browser
    """A fresh page (own context) that may only talk to 127.0.0.1; console errors fail the test.

    It depends on `server_factory` only so that it is torn down first: the screenshot is taken
    and the page closed while the test's servers still run.
    """
    context = chromium.new_context(viewport={"width": 1500, "height": 950})
    outside = OutsideRequests()
    page = context.new_page()
    page.on("request", outside.note)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.set_default_timeout(15_000)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
    finally:
        context.close()
    assert not outside.urls, f"the page tried to reach outside 127.0.0.1: {outside.urls}"
    assert not errors, "\n".join(errors)


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    """A copy of the runtime's fixture project, so a test may write its motia-workbench.json."""
    from tests.support.fixtures import FIXTURE_ROOT

    root = tmp_path / "project"
    shutil.copytree(FIXTURE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root
