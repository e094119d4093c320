"""ASGI middleware that keeps hostile requests out before any route runs: Host, body size, staff key.

Each answers with the runtime's JSON error (`message`, `x-trace-id`), so it must sit inside
`TraceIdMiddleware`. What each guards against: runtime/docs/web.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steprunner.http.routes import INTERNAL_PREFIX, TRACE_HEADER
from steprunner.staff_key import is_staff_key, sent_in_header

INTERNAL_MAX_BODY_BYTES = 64 * 1024
_HOST_ALLOWED = "steprunner.host_allowed"


async def send_json_error(
    scope: Scope, send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    """A runtime error straight from middleware: JSON `message`, the trace id, no body read."""
    body = json.dumps({"message": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    trace_id = scope.get("trace_id")
    if trace_id:
        raw_headers.append((TRACE_HEADER.encode(), str(trace_id).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def is_internal(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/")


class HostAllowList:
    """Requests whose Host is not allowed get 400 JSON; the check itself is Starlette's.

    A Host header value Starlette has allowed is remembered (a few dozen at most), so the
    usual request skips the parsing (what that saved: bench/README.md).
    """

    REMEMBERED = 64

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.check = TrustedHostMiddleware(self._allowed, allowed_hosts=allowed_hosts, www_redirect=False)
        self.known_good: set[bytes] = set()

    async def _allowed(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = scope.pop(_HOST_ALLOWED)
        scope[_HOST_ALLOWED] = True
        if host is not None and len(self.known_good) < self.REMEMBERED:
            self.known_good.add(host)
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        if host in self.known_good:
            return await self.app(scope, receive, send)
        scope[_HOST_ALLOWED] = host  # replaced by True if Starlette lets the request through
        if scope["type"] == "websocket":  # a WebSocket handshake is refused by Starlette itself (HTTP 400)
            return await self.check(scope, receive, send)

        async def refusal_as_json(message: Message) -> None:
            if scope.get(_HOST_ALLOWED) is True:
                return await send(message)
            if message["type"] == "http.response.start":  # Starlette's plain-text "Invalid host header"
                await send_json_error(
                    scope,
                    send,
                    400,
                    "Invalid Host header: this server answers only to the names in ALLOWED_HOSTS (and loopback)",
                )

        await self.check(scope, receive, refusal_as_json)


class InternalBodyLimit:
    """Buffer the body of a request to the runtime's own routes, refusing it past `limit` (413)."""

    def __init__(self, app: ASGIApp, limit: int = INTERNAL_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_internal(scope):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if not declared and b"transfer-encoding" not in headers:
            return await self.app(scope, receive, send)  # no body
        too_large = f"Request body is larger than {self.limit} bytes"
        if declared.isdigit() and int(declared) > self.limit:
            return await send_json_error(scope, send, 413, too_large)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await send_json_error(scope, send, 413, too_large)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect, as the server would
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


class StaffKey:
    """With a key set, the runtime's routes (but `public_paths`) need `Authorization: Bearer <key>`.

    The key is compared in constant time (steprunner.staff_key); a missing or wrong key gets
    401 JSON with `WWW-Authenticate: Bearer`. The page itself (`/`, `/__steprunner/`, its
    static files) is public: it holds no data, and asks for the key when its data routes refuse.
    """

    def __init__(self, app: ASGIApp, key: str, protected: Callable[[Scope], bool]) -> None:
        self.app = app
        self.key = key
        self.protected = protected

    def _authorized(self, scope: Scope) -> bool | None:
        """True for the right key, False for a wrong one, None when none was sent."""
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        sent = sent_in_header(header.decode("latin-1") if header is not None else None)  # the wire's bytes again
        return None if sent is None else is_staff_key(sent, self.key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.protected(scope):
            return await self.app(scope, receive, send)
        authorized = self._authorized(scope)
        if authorized:
            return await self.app(scope, receive, send)
        message = (
            "Wrong staff key"
            if authorized is False
            else "A staff key is required: send `Authorization: Bearer <STAFF_API_KEY>`"
        )
        await send_json_error(scope, send, 401, message, headers={"WWW-Authenticate": "Bearer"})
