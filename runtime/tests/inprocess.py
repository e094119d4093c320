"""The runtime's Starlette app in this process, behind httpx's ASGITransport.

For tests of what the HTTP layer answers (errors, content types, Host checks, body limits, the
staff key), where a server process is not the thing under test: no port, no start-up wait.
Crashes, signals, workers and the CLI keep their real-process tests (`steprunner.testing.server`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from steprunner.runtime import Runtime
from steprunner.settings import Settings


@contextlib.asynccontextmanager
async def in_process(
    root: Path, data_dir: Path, base_url: str = "http://127.0.0.1:3000", **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a started runtime for `root`: its lifespan runs (bus, cron, trace recorder) as under uvicorn.

    `settings` override the defaults (`Settings` fields: `max_body_bytes=2048`, `host="0.0.0.0"`, ...);
    strict mode is on unless `strict=False` (the project's own tests run strict).
    The steps see DATA_DIR through the environment, so set it (monkeypatch) to `data_dir` if they use it.
    """
    config = dataclasses.replace(Settings(root=root.resolve(), data_dir=data_dir), **{"strict": True, **settings})
    app = Runtime(config).app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30.0) as client:
            yield client
