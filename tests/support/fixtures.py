"""The runtime's fixture projects and its Node stream client, by path: the service's web and Motia tests use them too.

They live with the runtime's own tests (runtime/tests/), a separate pytest run, so they are named by folder here.
"""

from __future__ import annotations

from tests.support.server import REPO_ROOT

RUNTIME_TESTS = REPO_ROOT / "runtime" / "tests"
FIXTURE_ROOT = RUNTIME_TESTS / "fixture_project"  # the runtime's steps: echo, fan-out, chains, cron, state
STREAMS_FIXTURE_ROOT = RUNTIME_TESTS / "streams" / "fixture_project"
STREAM_CLIENT_DIR = RUNTIME_TESTS / "streams" / "client"  # Motia's Node stream client and watch.mjs
