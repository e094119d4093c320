"""Motia's Workbench, as a person opens it after `make workbench`: headless Debian Chromium on
the `motia dev` port.

The `pets` flow must render with one node per step of the flow (API, event, cron and the
staff noop), named as the steps are. The screenshot is kept in tests/artifacts/workbench.png;
docs/workbench.png (shown in the README) is written when missing, or refreshed with
UPDATE_SCREENSHOTS=1. Chromium is Debian's, driven by Playwright (no browser download), and
gets no network beyond this machine: the Workbench's own requests for web fonts (Google) and
analytics (Amplitude) fail, since no host name resolves, so the test never reaches out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.motia_server import MotiaServer
from tests.support.server import REPO_ROOT, base_env
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS

# Starting Motia and the Workbench's first load (Vite optimises its modules once per
# node_modules/) take tens of seconds on a busy 2-core machine.
pytestmark = [pytest.mark.motia, pytest.mark.timeout(300)]

# Debian's Chromium with the flags this machine needs as root and offline: no host name
# resolves but localhost, so the Workbench's requests for Google's web fonts and Amplitude's
# script fail at once. (Not `page.route`: the Workbench, served by Vite in dev mode, loads
# hundreds of modules, and a Python round trip for each one makes the page take minutes.)
# The flow pane gets most of the page (the Workbench remembers this split in localStorage).
PANEL_SPLIT = (
    "localStorage.setItem('react-resizable-panels:app-panel', "
    "JSON.stringify({'bottom-panel,top-panel': {expandToSizes: {}, layout: [72, 28]}}))"
)
ARTIFACT = REPO_ROOT / "tests" / "artifacts" / "workbench.png"
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "workbench.png"
RENDER_TIMEOUT_MS = 150_000  # Vite transforms the Workbench on its first load

# Read the flow's steps the way steprunner does, in a child process with its own DATA_DIR
# (the step files open the store when they load).
LIST_STEPS = """
import json
from pathlib import Path
from steprunner.loader import load_steps
print(json.dumps([{"name": s.name, "file": s.file, "flows": s.flows} for s in load_steps(Path("."))]))
"""


def steps_of_flow(root: Path, flow: str, data_dir: Path) -> dict[str, str]:
    """{step name: file} for every step under `root` whose config lists `flow`."""
    done = subprocess.run(
        [sys.executable, "-c", LIST_STEPS], cwd=root, env=base_env(data_dir), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return {s["name"]: s["file"] for s in json.loads(done.stdout) if flow in s["flows"]}


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium"
)
def test_workbench_draws_every_step_of_the_pets_flow(motia_workbench: MotiaServer, tmp_path: Path) -> None:
    motia = motia_workbench
    expected = steps_of_flow(motia.root, "pets", tmp_path)
    assert expected, "no step lists the flow `pets`"

    from playwright.sync_api import sync_playwright

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(PANEL_SPLIT)
            page.goto(motia.base_url, wait_until="domcontentloaded", timeout=RENDER_TIMEOUT_MS)
            page.get_by_role("tab", name="pets", selected=True).wait_for(
                timeout=RENDER_TIMEOUT_MS
            )  # the flow is the one shown
            page.wait_for_function(
                "n => document.querySelectorAll('.react-flow__node').length >= n",
                arg=len(expected),
                timeout=RENDER_TIMEOUT_MS,
            )
            nodes = page.locator(".react-flow__node")
            drawn = [nodes.nth(i).inner_text().strip().splitlines()[0] for i in range(nodes.count())]
            page.screenshot(path=str(ARTIFACT))
        finally:
            browser.close()

    assert sorted(drawn) == sorted(expected), f"Workbench drew {sorted(drawn)}; the pets flow has {sorted(expected)}"
    if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACT, DOCS_SCREENSHOT)
