"""HTTP for API steps: Starlette routes built from `path`/`method`, Motia's `req` in, `{status, body}` out.

The runtime itself answers, always as JSON with a `message` and always with the trace id in
`x-trace-id`: 404 unknown route, 405 wrong method, 400 body that is not JSON (or nested too
deeply to parse), 413 body over the limit, 415 a body that is not declared JSON, 500 handler
that raised or returned no response (the traceback goes to the log, never into the answer), 503
with `Retry-After` when no database connection came free in time or the database went away
(DatabaseBusy and DatabaseUnavailable, runtime/steprunner/db/busy.py: "try again", not a bug; whatever
the request wrote rolled back).

A path that matches a route but for its trailing slash is redirected (307) to that route with
a relative `Location`: Starlette's own redirect is absolute, built from the request's Host.
"""

from __future__ import annotations

import json
import random
import re
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match, Route

from steprunner.context import Context
from steprunner.db.busy import RETRY_AFTER_SECONDS, DatabaseBusy, DatabaseUnavailable
from steprunner.events import EventBus
from steprunner.loader import Step, StepLoadError
from steprunner.log import Logger
from steprunner.observe import RequestEnded, RequestStarted
from steprunner.step_config import ApiConfig
from steprunner.step_types import ApiRequest

TRACE_HEADER = "x-trace-id"
TRACE_ID_MAX_CHARS = 64
TRACE_ID_SHAPE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
TRACE_ID_REPLACED = (
    b"x-trace-id-replaced",
    b"the x-trace-id sent was not 1-64 characters of A-Z a-z 0-9 . _ : - and was replaced",
)
INTERNAL_PREFIX = "/__steprunner"  # the runtime's own routes; refused to steps (`check_route`)
JSON_MEDIA_TYPE = re.compile(r"application/(?:[\w.+-]+\+)?json", re.IGNORECASE)


class BodyTooLarge(Exception):
    pass


def new_trace_id() -> str:
    """32 random hex digits, like `uuid.uuid4().hex` but without a UUID or a getrandom() system call
    per request (a trace id names a request for the logs and the trace view; it is no secret)."""
    return f"{random.getrandbits(128):032x}"


def trace_id_of(request: Request) -> str:
    """The request's trace id, chosen once by `TraceIdMiddleware` (the caller's `x-trace-id` if it was fit to keep)."""
    return request.scope.get("trace_id") or new_trace_id()


def fit_trace_id(sent: bytes) -> bool:
    """Whether a caller's `x-trace-id` may name its trace: 1 to TRACE_ID_MAX_CHARS of `A-Z a-z 0-9 . _ : -`
    (a UUID, W3C's 32 hex digits, Motia's ids); anything else would be kept in the logs and traces as sent."""
    return len(sent) <= TRACE_ID_MAX_CHARS and TRACE_ID_SHAPE.fullmatch(sent) is not None


class TraceIdMiddleware:
    """Give every HTTP request a trace id and put it on every response, whoever answers it.

    A caller's `x-trace-id` is kept when it is fit (`fit_trace_id`); one that is not is replaced by a
    generated id, and the answer says so in `x-trace-id-replaced`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = dict(scope["headers"]).get(TRACE_HEADER.encode())
        kept = sent is not None and fit_trace_id(sent)
        trace_id = scope["trace_id"] = sent.decode("ascii") if sent is not None and kept else new_trace_id()
        added = [(TRACE_HEADER.encode(), trace_id.encode("ascii"))]
        if sent is not None and not kept:
            added.append(TRACE_ID_REPLACED)

        async def send_with_trace(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != added[0][0]]
                message = {**message, "headers": [*headers, *added]}
            await send(message)

        await self.app(scope, receive, send_with_trace)


def error(
    status: int, message: str, trace_id: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {"message": message, **extra}, status_code=status, headers={**(headers or {}), TRACE_HEADER: trace_id}
    )


def busy(exc: DatabaseBusy, trace_id: str, logger: Logger) -> JSONResponse:
    """503 with `Retry-After` for a request that met DatabaseBusy (or lost its database): logged as a
    warning, without a traceback."""
    if isinstance(exc, DatabaseUnavailable):
        what = "the database is unavailable"
    else:
        what = "no database connection came free in time"
    logger.warn(f"{what}: answered 503 with Retry-After", {"error": str(exc)})
    return error(
        503,
        f"The service is busy ({what}); try again shortly",
        trace_id,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        traceId=trace_id,
    )


def starlette_path(motia_path: str) -> str:
    """`/py/pets/:id` -> `/py/pets/{id}`."""
    return re.sub(r":(\w+)", r"{\1}", motia_path)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is None and "transfer-encoding" not in request.headers:
        return b""  # HTTP/1.1: a request with neither header has no body (most GETs); skip the receive loop
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def is_json_content_type(value: str | None) -> bool:
    """`application/json` or `application/<anything>+json`, parameters (`; charset=utf-8`) allowed."""
    return bool(value) and JSON_MEDIA_TYPE.fullmatch(value.split(";", 1)[0].strip()) is not None  # type: ignore[union-attr]


def parse_body(raw: bytes) -> Any:
    """The body as JSON (None when empty); raises ValueError when it is not JSON or nests too
    deeply for the parser (RecursionError is caught here: it must be a 400, not a 500).
    The undecoded text stays available to the handler as `rawBody`."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def query_params(request: Request) -> dict[str, str | list[str]]:
    params: dict[str, str | list[str]] = {}
    if not request.scope.get("query_string"):
        return params  # no query: don't build Starlette's QueryParams (a few us per request)
    for key in request.query_params.keys():
        values = request.query_params.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    return params


def header_dict(request: Request) -> dict[str, str]:
    """`req["headers"]`: lower-case names, the first value of a repeated header (as `dict(request.headers)`
    gives), decoded straight from the ASGI scope: `dict(Headers)` looks every name up again (bench/README.md)."""
    headers: dict[str, str] = {}
    for name, value in request.scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


def to_response(result: Any, trace_id: str) -> Response:
    if not isinstance(result, dict) or not isinstance(result.get("status"), int):
        raise TypeError(f"handler must return {{'status': int, 'body': ...}}, got {result!r:.200}")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    headers[TRACE_HEADER] = trace_id
    body = result.get("body")
    if body is None:
        return Response(status_code=result["status"], headers=headers)
    if isinstance(body, (bytes, str)) and "content-type" in {k.lower() for k in headers}:
        return Response(body, status_code=result["status"], headers=headers)
    return JSONResponse(body, status_code=result["status"], headers=headers)


# Awaitable[Any]: what a handler returns is checked at run time (`to_response`), as it comes from a step file
Handler = Callable[[ApiRequest, Context], Awaitable[Any]]


def chain(middleware: list[Any], handler: Handler) -> Handler:
    """Motia middleware: `async def mw(req, context, next)`; `next()` runs the rest of the chain."""
    for mw in reversed(middleware):
        handler = (lambda m, nxt: lambda req, ctx: m(req, ctx, lambda: nxt(req, ctx)))(mw, handler)
    return handler


def check_route(step: Step) -> None:
    """StepLoadError if an API step declares a path under the runtime's reserved prefix."""
    config = step.config
    if isinstance(config, ApiConfig) and config.path.startswith(INTERNAL_PREFIX):
        raise StepLoadError(f"{step.file}: config.path: {INTERNAL_PREFIX} is reserved for the runtime")


def api_route(step: Step, bus: EventBus, max_body: int) -> Route:
    """The Starlette route of an API step: it reports requests to the bus's observers and runs the
    handler with the bus's `context`."""
    config = step.config
    assert isinstance(config, ApiConfig)
    check_route(step)
    run = chain(list(config.middleware or []), step.handler)  # type: ignore[arg-type]
    logger_name = step.name

    async def endpoint(request: Request) -> Response:
        trace_id = trace_id_of(request)
        try:
            raw = await read_body(request, max_body)
        except BodyTooLarge:
            return error(413, f"Request body is larger than {max_body} bytes", trace_id)
        if raw and not is_json_content_type(request.headers.get("content-type")):
            sent = request.headers.get("content-type") or "no Content-Type"
            return error(
                415, f"Request body must be JSON: send `Content-Type: application/json` (got {sent})", trace_id
            )
        try:
            body = parse_body(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return error(400, f"Request body is not valid JSON: {exc}", trace_id)
        req: ApiRequest = {
            "body": body,
            "pathParams": dict(request.path_params),
            "queryParams": query_params(request),
            "headers": header_dict(request),
            "rawBody": raw.decode("utf-8", errors="replace"),
        }
        bus.notify(RequestStarted(trace_id, logger_name, request.method, request.scope["path"]))
        status = 500
        try:

            async def respond() -> Response:
                return to_response(await run(req, bus.context_for(step, trace_id)), trace_id)

            with bus.hold_deliveries():  # what the handler emits runs after the response is sent
                response, _ = await bus.run_in_transaction(respond)  # on PostgreSQL: answered once committed
            status = response.status_code
            return response
        except DatabaseBusy as exc:
            status = 503
            return busy(exc, trace_id, Logger(logger_name, trace_id))
        except Exception as exc:  # noqa: BLE001 - one bad request must not take the server down
            Logger(logger_name, trace_id).error(f"handler failed: {exc!r}", {"traceback": traceback.format_exc()})
            return error(500, "Internal server error", trace_id, traceId=trace_id)
        finally:
            bus.notify(RequestEnded(trace_id, logger_name, status))

    return Route(starlette_path(config.path), endpoint, methods=[config.method], name=step.name)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first route
    that matched the path, which is wrong when GET, PUT and DELETE are three steps."""
    methods: set[str] = set()
    router = request.scope.get("router")
    for route in getattr(router, "routes", []):
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def slash_redirect(request: Request) -> str | None:
    """The path (and query) to redirect to when only a trailing slash stops a route from matching.

    Relative, so a foreign Host is never echoed, and never `//...` (a browser reads that as
    another host)."""
    path: str = request.scope["path"]
    if path == "/":
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    if not other.startswith("/") or other.startswith("//") or "\\" in other:
        return None
    router = request.scope.get("router")
    scope = {**request.scope, "path": other}
    if not any(route.matches(scope)[0] is not Match.NONE for route in getattr(router, "routes", [])):
        return None
    query = request.scope.get("query_string", b"").decode("latin-1")
    return other + (f"?{query}" if query else "")


async def http_exception(request: Request, exc: HTTPException) -> Response:
    """Every HTTPException as JSON: 404 (or a redirect to the path with or without its slash), 405 with `Allow`."""
    trace_id = trace_id_of(request)
    if exc.status_code == 404 and (location := slash_redirect(request)):
        return RedirectResponse(location, status_code=307, headers={TRACE_HEADER: trace_id})
    if exc.status_code == 405:
        allow = allowed_methods(request)
        headers = {**(exc.headers or {}), **({"Allow": allow} if allow else {})}
        return error(405, f"Method {request.method} not allowed on {request.url.path}", trace_id, headers=headers)
    if exc.status_code == 404:
        return error(404, f"No route for {request.method} {request.url.path}", trace_id)
    return error(exc.status_code, exc.detail, trace_id, headers=dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    """Whatever escaped a route (a bug in the runtime): JSON 500, the traceback only in the log
    (DatabaseBusy, from the runtime's own routes: 503)."""
    trace_id = trace_id_of(request)
    if isinstance(exc, DatabaseBusy):
        return busy(exc, trace_id, Logger("steprunner", trace_id))
    Logger("steprunner", trace_id).error(
        f"unhandled error on {request.method} {request.url.path}: {exc!r}",
        {"traceback": "".join(traceback.format_exception(exc))},
    )
    return error(500, "Internal server error", trace_id, traceId=trace_id)
