"""Put the pieces together: steps -> journal -> event bus -> cron -> streams -> Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from steprunner import recovery
from steprunner.cron import schedule_loop, schedule_of
from steprunner.events import EventBus
from steprunner.http.admission import Admission, Limits
from steprunner.http.guards import HostAllowList, InternalBodyLimit, StaffKey
from steprunner.http.routes import (
    INTERNAL_PREFIX,
    TraceIdMiddleware,
    api_route,
    http_exception,
    new_trace_id,
    server_error,
)
from steprunner.journal.contract import EventJournal
from steprunner.journal.sqlite import Journal
from steprunner.loader import Step, load_steps
from steprunner.log import runtime_log
from steprunner.node import node_id
from steprunner.settings import Settings, is_loopback
from steprunner.step_config import ApiConfig, CronConfig
from steprunner.streams.config import load_streams
from steprunner.streams.hub import StreamHub
from steprunner.streams.store import SqliteStreamStore, StreamStore
from steprunner.web.app import WebUI
from steprunner.web.traces import Sharing


class Runtime:
    """One process's view of the project: its steps, its journal connection and its event bus."""

    def __init__(self, settings: Settings, steps: list[Step] | None = None) -> None:
        self.settings = settings
        self.steps = steps if steps is not None else load_steps(settings.root, strict=settings.strict)
        for step in self.steps:
            if isinstance(step.config, CronConfig):
                schedule_of(step)  # a bad override stops start-up here
        self.journal = open_journal(settings)
        self.bus = EventBus(self.steps, settings, self.journal, capacity=settings.max_handlers)
        self.streams = StreamHub(
            load_streams(settings.root),
            open_stream_store(settings, self.journal),
            settings.host_allow_list,
            settings.staff_api_key,
            faults=settings.faults,
        )
        self.bus.streams = self.streams.streams
        self._cron_tasks: list[asyncio.Task[None]] = []

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    async def start(self, cron: bool = True) -> None:
        await self.streams.start()
        dead = recovery.begin(self.settings.data_dir, self.journal.owner)
        recovered = await recovery.recover(self.journal, dead)
        self.bus.start()
        if recovered.owners:
            await self._after_a_crash(recovered)
        if cron:
            self._cron_tasks = [
                asyncio.create_task(schedule_loop(s, self.bus)) for s in self.steps if isinstance(s.config, CronConfig)
            ]

    async def _after_a_crash(self, recovered: recovery.Recovered) -> None:
        """This node's earlier process died: say so, and have the steps that settle its leftovers run now."""
        runtime_log.warn(
            "🩹 restarted after a crash: what the earlier process held runs again now",
            {"deadProcesses": list(recovered.owners), "deliveriesReleased": len(recovered.released)},
        )
        if self.bus.subscribers.get(recovery.RESTARTED_TOPIC):
            await self.bus.publish(
                recovery.RESTARTED_TOPIC, recovery.node_data(recovered), new_trace_id(), "steprunner"
            )

    async def stop(self) -> None:
        for task in self._cron_tasks:
            task.cancel()
        await asyncio.gather(*self._cron_tasks, return_exceptions=True)
        await self.bus.stop()
        recovery.end(self.settings.data_dir, self.journal.owner)
        await self.streams.stop()
        self.journal.close()
        if self.settings.database_url:
            from steprunner.db.pool import close_all  # psycopg: imported only by those who use it

            await asyncio.to_thread(close_all)

    def app(self) -> Starlette:
        async def health(_: Request) -> JSONResponse:
            # public even with a staff key: load balancers probe it, and the pages learn here to ask for the key
            return JSONResponse(
                {
                    "status": "ok",
                    "pid": os.getpid(),
                    "steps": len(self.steps),
                    "staffKey": bool(self.settings.staff_api_key),
                }
            )

        web = WebUI(
            self.steps,
            self.settings.root,
            self.settings.data_dir,
            self.bus,
            show_tracebacks=is_loopback(self.settings.host),
            streams=list(self.streams.definitions.values()),
            sharing=open_trace_sharing(self.settings, self.journal),
        )
        routes: list[BaseRoute] = [Route(f"{INTERNAL_PREFIX}/health", health)]
        routes += [
            api_route(s, self.bus, self.settings.max_body_bytes) for s in self.steps if isinstance(s.config, ApiConfig)
        ]
        routes += web.routes()  # after the steps: a step declaring `/`, `/docs` or `/openapi.json` wins
        routes.append(self.streams.route())  # WebSocket only, on any path, as Motia's stream server

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            await self.start()
            await web.start()
            settle_garbage_collector()
            runtime_log.info(
                "ready", {"pid": os.getpid(), "steps": len(self.steps), "dataDir": str(self.settings.data_dir)}
            )
            try:
                yield
            finally:
                await web.stop()
                await self.stop()

        limits = Limits(
            limit_concurrency=self.settings.limit_concurrency,
            websockets_max=self.settings.websockets_max,
            websockets_per_client=self.settings.websockets_per_client,
            body_timeout=self.settings.body_timeout_seconds,
            max_body_bytes=self.settings.max_body_bytes,
        )
        middleware = [
            Middleware(TraceIdMiddleware),
            Middleware(Admission, limits=limits),
            Middleware(HostAllowList, allowed_hosts=self.settings.host_allow_list),
        ]
        if self.settings.staff_api_key:
            middleware.append(Middleware(StaffKey, key=self.settings.staff_api_key, protected=web.needs_staff_key))
        middleware.append(Middleware(InternalBodyLimit))
        handlers: dict[Any, Any] = {404: http_exception, 405: http_exception, 500: server_error}
        app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers=handlers)
        app.router.redirect_slashes = False  # `http_exception` redirects, with a relative Location
        return app


def open_journal(settings: Settings) -> EventJournal:
    """The event journal: PostgreSQL's when DATABASE_URL is set (every node shares it), else DATA_DIR's
    SQLite file (every process of this machine shares it)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    node = node_id(settings.data_dir)  # claims name it: a restart takes back its own (steprunner/recovery.py)
    if settings.database_url:
        from steprunner.journal.postgres import PgJournal  # psycopg: imported only by those who use it

        return PgJournal(settings.database_url, node)
    return Journal(settings.journal_path, settings.journal_sync, node)


def open_stream_store(settings: Settings, journal: EventJournal) -> StreamStore:
    """Where stream items live: PostgreSQL when DATABASE_URL is set, else the SQLite journal's file."""
    if settings.database_url:
        from steprunner.streams.store_pg import PgStreamStore

        return PgStreamStore(settings.database_url, settings.poll_seconds)
    assert isinstance(journal, Journal), "without DATABASE_URL the journal is DATA_DIR's SQLite file"
    return SqliteStreamStore(journal)


def open_trace_sharing(settings: Settings, journal: EventJournal) -> Sharing | None:
    """The live traces of every node when DATABASE_URL is set, this node named as its journal claims; else None."""
    if settings.database_url:
        from steprunner.web.trace_share import PgTraceShare

        return PgTraceShare(settings.database_url, journal.owner, settings.poll_seconds)
    return None


def settle_garbage_collector() -> None:
    """Keep the collector's full passes off the request path once the server has started.

    Everything loaded so far (steps, schemas, the runtime) lives as long as the process: `gc.freeze()`
    moves it out of the collector's sight, and fewer, larger young-generation passes cut its
    overhead: a full pass over every object paused the event loop (measured: bench/README.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def create_app() -> Any:
    """uvicorn factory for `--workers N`: each worker rebuilds the runtime from the environment."""
    root = Path(os.environ.get("STEPRUNNER_ROOT") or ".")
    return Runtime(Settings.from_env(root)).app()
