"""The built-in pages and their internal API: flow view with live traces, OpenAPI, API docs.

Mounted after the step routes, so a step's own route always wins; the same pages stay under
`/__steprunner/`. The routes, the staff key and what the trace view hides: runtime/docs/web.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from steprunner import log
from steprunner.http.routes import INTERNAL_PREFIX, starlette_path
from steprunner.loader import Step
from steprunner.observe import Observable
from steprunner.step_config import ApiConfig
from steprunner.streams.config import StreamDef
from steprunner.web.flow import flow_graph, flow_names, steps_in
from steprunner.web.openapi import openapi_document
from steprunner.web.positions import WORKBENCH_FILE, WorkbenchFileError, save_position, saved_positions
from steprunner.web.redaction import Redaction
from steprunner.web.sse import Restore, on_exit_signal, trace_stream
from steprunner.web.traces import Sharing, TraceRecorder

STATIC_DIR = Path(__file__).parent / "static"
PUBLIC_INTERNAL_PATHS = {INTERNAL_PREFIX, f"{INTERNAL_PREFIX}/", f"{INTERNAL_PREFIX}/docs", f"{INTERNAL_PREFIX}/health"}
PUBLIC_INTERNAL_FOLDERS = (f"{INTERNAL_PREFIX}/static/", f"{INTERNAL_PREFIX}/swagger-ui/")
PREFERRED_FLOW = "pets"


class PositionUpdate(BaseModel):
    """`PUT /__steprunner/positions`: where one node of one flow was dropped."""

    model_config = ConfigDict(extra="forbid")
    flow: str = Field(min_length=1)
    file: str = Field(min_length=1)
    x: float
    y: float


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class WebUI:
    """Routes and live state of the built-in pages for one runtime."""

    def __init__(
        self,
        steps: list[Step],
        root: Path,
        data_dir: Path,
        bus: Observable,
        show_tracebacks: bool,
        streams: Sequence[StreamDef] = (),
        sharing: Sharing | None = None,
    ) -> None:
        """`bus`: where the trace recorder subscribes. `show_tracebacks`: whether the trace view may
        show tracebacks and absolute paths (only when the server is bound to loopback). `streams`:
        the project's stream configs, listed by `streams`. `sharing`: the other nodes' traces
        (database mode), or None."""
        self.steps = steps
        self.stream_defs = list(streams)
        self.root = root
        self.workbench_path = self.root / WORKBENCH_FILE
        self.lock_path = data_dir / "motia-workbench.lock"
        self.bus = bus
        self.sharing = sharing
        self.show_tracebacks = show_tracebacks
        self.redaction = Redaction(root, data_dir)
        self.recorder = TraceRecorder(
            node=sharing.node if sharing else None, shown=None if show_tracebacks else self.redaction
        )
        # `openapi.json` at the root is the docs page's data unless a step took the path
        taken = {
            starlette_path(s.config.path) for s in steps if isinstance(s.config, ApiConfig) and s.config.method == "GET"
        }
        self._public_data_paths = {"/openapi.json"} - taken
        self._openapi: dict[str, Any] | None = None
        self._restore_signals: Restore = lambda: None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin recording (and sharing) traces, ready to end the streams on Ctrl-C (call inside the event loop)."""
        self.recorder.bind(asyncio.get_running_loop())
        if self.sharing is not None:
            await self.sharing.start(self.recorder, self.redaction)
        self.bus.add_observer(self.recorder.observe)
        log.add_listener(self.recorder.on_log)
        self._restore_signals = on_exit_signal(self.recorder.close)

    async def stop(self) -> None:
        self.recorder.close()
        self._restore_signals()
        log.remove_listener(self.recorder.on_log)
        self.bus.remove_observer(self.recorder.observe)
        if self.sharing is not None:
            await self.sharing.stop()

    # --- pages ----------------------------------------------------------------------------

    async def page(self, _: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def docs(self, _: Request) -> Response:
        return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})

    async def openapi(self, _: Request) -> Response:
        if self._openapi is None:  # steps do not change while the process runs
            self._openapi = openapi_document(self.steps, self.root)
        return JSONResponse(self._openapi)

    # --- flows ----------------------------------------------------------------------------

    async def flows(self, _: Request) -> Response:
        names = flow_names(self.steps)
        default = PREFERRED_FLOW if PREFERRED_FLOW in names else (names[0] if names else None)
        return JSONResponse(
            {"flows": names, "default": default, "steps": len(self.steps), "layoutFile": WORKBENCH_FILE}
        )

    async def flow(self, request: Request) -> Response:
        name = request.query_params.get("name") or None
        if name is not None and name not in flow_names(self.steps):
            return _error(404, f"No flow named {name!r}; flows: {', '.join(flow_names(self.steps)) or 'none'}")
        warning = None
        saved: dict[str, tuple[float, float]] = {}
        if name is not None:
            try:
                saved = saved_positions(self.workbench_path, name)
            except WorkbenchFileError as exc:
                warning = f"{exc}; showing the automatic layout and not saving positions until it is fixed"
        graph = flow_graph(self.steps, name, saved)
        graph.update(warning=warning, savable=name is not None and warning is None)
        return JSONResponse(graph)

    async def save_position(self, request: Request) -> Response:
        try:
            update = PositionUpdate.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
            return _error(400, f"Invalid position: {problems}")
        if not (math.isfinite(update.x) and math.isfinite(update.y)):
            return _error(400, "Invalid position: x and y must be finite numbers")
        if update.flow not in flow_names(self.steps):
            return _error(404, f"No flow named {update.flow!r}")
        if update.file not in {s.file for s in steps_in(self.steps, update.flow)}:
            return _error(404, f"No step {update.file!r} in flow {update.flow!r}")
        try:
            stored = await asyncio.to_thread(
                save_position, self.workbench_path, self.lock_path, update.flow, update.file, update.x, update.y
            )
        except WorkbenchFileError as exc:
            return _error(409, f"{exc}; fix or remove it to save positions")
        return JSONResponse({"flow": update.flow, "file": update.file, **stored, "savedTo": WORKBENCH_FILE})

    # --- streams --------------------------------------------------------------------------

    async def streams(self, _: Request) -> Response:
        listed = [{"name": d.name, "file": d.file, "schema": d.schema} for d in self.stream_defs]
        return JSONResponse({"streams": listed})

    # --- traces ---------------------------------------------------------------------------

    async def traces(self, _: Request) -> Response:
        if self.sharing is not None:
            await self.sharing.catch_up()
        return JSONResponse({"traces": self.recorder.summaries()})

    async def trace(self, request: Request) -> Response:
        if self.sharing is not None:
            await self.sharing.catch_up()
        detail = self.recorder.detail(request.path_params["trace_id"])
        if detail is None:
            kept = "of every node" if self.sharing is not None else "for this process only"
            return _error(404, f"No such trace (traces are kept in memory, newest first, {kept})")
        return JSONResponse(detail if self.show_tracebacks else self.redaction(detail))

    def needs_staff_key(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether a request reads or changes data of the runtime's (the staff key: runtime/docs/web.md)."""
        path: str = scope.get("path", "")
        if path in self._public_data_paths:
            return True
        if not (path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/")):
            return False
        return path not in PUBLIC_INTERNAL_PATHS and not path.startswith(PUBLIC_INTERNAL_FOLDERS)

    async def trace_stream(self, _: Request) -> Response:
        if self.sharing is not None:
            await self.sharing.catch_up()  # the snapshot includes what the other nodes shared so far
            self.sharing.watch()
        return trace_stream(self.recorder)

    # --- routing --------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        """Mount these after the step routes, so that a step declaring the same path wins."""
        p = INTERNAL_PREFIX
        return [
            Route(f"{p}/", self.page, methods=["GET"]),
            Route(f"{p}/docs", self.docs, methods=["GET"]),
            Route(f"{p}/openapi.json", self.openapi, methods=["GET"]),
            Route(f"{p}/flows", self.flows, methods=["GET"]),
            Route(f"{p}/flow", self.flow, methods=["GET"]),
            Route(f"{p}/positions", self.save_position, methods=["PUT"]),
            Route(f"{p}/streams", self.streams, methods=["GET"]),
            Route(f"{p}/traces", self.traces, methods=["GET"]),
            Route(f"{p}/traces/{{trace_id}}", self.trace, methods=["GET"]),
            Route(f"{p}/trace-stream", self.trace_stream, methods=["GET"]),
            Mount(f"{p}/static", app=StaticFiles(directory=STATIC_DIR), name="steprunner-static"),
            Mount(f"{p}/swagger-ui", app=StaticFiles(directory=Path(str(swagger_ui_path))), name="swagger-ui"),
            Route("/", self.page, methods=["GET"]),
            Route("/docs", self.docs, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
        ]
