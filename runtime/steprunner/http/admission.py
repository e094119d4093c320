"""ASGI middleware that decides what a process takes on: WebSockets, HTTP requests, and their bodies' deadline.

uvicorn's own `limit_concurrency` counts every open connection (idle keep-alive ones, half-sent request
heads and WebSockets alike) and answers HTTP 503 past it while it never refuses an upgrade, so a few
clients holding sockets open locked every other client out. Here each kind has its own bound:

- WebSockets: at most `websockets_max` open at once and `websockets_per_client` from one client address;
  an upgrade past either is refused with HTTP 503 or 429 and `Retry-After`, and HTTP never counts them.
- HTTP: a request's body must arrive whole within `body_timeout` (408 otherwise, the connection closed),
  and only then does the request take one of `limit_concurrency` places (503 with `Retry-After` when
  all are taken), so requests still sending do not take the places of those ready to run.

Each refusal is the runtime's JSON error, so this sits inside `TraceIdMiddleware`. Why, and the
settings: runtime/docs/web.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steprunner.db.busy import RETRY_AFTER_SECONDS
from steprunner.http.guards import send_json_error


@dataclass(frozen=True)
class Limits:
    limit_concurrency: int  # HTTP requests handled at once, bodies read
    websockets_max: int  # WebSockets open at once
    websockets_per_client: int  # WebSockets open at once from one client address
    body_timeout: float  # seconds from the head to the body's last byte
    max_body_bytes: int  # a body larger is refused (413) without being read further


class BodyLate(Exception):
    pass


def client_address(scope: Scope) -> str:
    """The client's address as uvicorn gives it (the proxy's `X-Forwarded-For` from FORWARDED_ALLOW_IPS)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, if it sent a valid one."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


def has_body(scope: Scope) -> bool:
    """HTTP/1.1: a request with neither Content-Length (but 0) nor Transfer-Encoding has no body."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class Admission:
    """Counts this process's WebSockets and running HTTP requests, and refuses what is past its bounds."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.websockets = 0
        self.websockets_by_client: Counter[str] = Counter()
        self.handling = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        if scope["type"] == "http":
            return await self._http(scope, receive, send)
        await self.app(scope, receive, send)

    # --- WebSockets ---

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = client_address(scope)
        if self.websockets >= self.limits.websockets_max:
            return await refuse_upgrade(
                scope,
                send,
                503,
                f"The server holds its limit of {self.limits.websockets_max} WebSockets "
                "(STEPRUNNER_WEBSOCKETS_MAX); try again shortly",
            )
        if self.websockets_by_client[client] >= self.limits.websockets_per_client:
            return await refuse_upgrade(
                scope,
                send,
                429,
                f"Too many WebSockets from one client: at most {self.limits.websockets_per_client} at once "
                "(STEPRUNNER_WEBSOCKETS_PER_CLIENT); close one, or try again shortly",
            )
        self.websockets += 1
        self.websockets_by_client[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.websockets -= 1
            self.websockets_by_client[client] -= 1
            if self.websockets_by_client[client] <= 0:
                del self.websockets_by_client[client]  # the counter holds only the addresses with sockets open

    # --- HTTP ---

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = declared_length(scope)
        if length is not None and length > self.limits.max_body_bytes:
            return await self._too_large(scope, send)  # said so up front: not a byte of it is read
        if has_body(scope):
            try:
                body = await asyncio.wait_for(self._read_body(receive), self.limits.body_timeout)
            except TimeoutError:
                return await send_json_error(
                    scope,
                    send,
                    408,
                    f"The request body did not arrive within {self.limits.body_timeout:g} s "
                    "(STEPRUNNER_BODY_TIMEOUT_SECONDS)",
                    headers={"Connection": "close"},
                )
            if body is None:
                return  # the client went away
            if len(body) > self.limits.max_body_bytes:
                return await self._too_large(scope, send)
            receive = replay(body, receive)
        if self.handling >= self.limits.limit_concurrency:
            return await send_json_error(
                scope,
                send,
                503,
                f"The server is handling its limit of {self.limits.limit_concurrency} requests at once; "
                "try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.handling += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.handling -= 1

    async def _too_large(self, scope: Scope, send: Send) -> None:
        """413, the connection closed after it: the rest of the body is never read."""
        message = f"Request body is larger than {self.limits.max_body_bytes} bytes"
        await send_json_error(scope, send, 413, message, headers={"Connection": "close"})

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body; None if the client disconnected. Stops reading one chunk past the size limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.limits.max_body_bytes or not message.get("more_body", False):
                return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then waits for the disconnect as the server would."""
    replayed = False

    async def receive_again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def refuse_upgrade(scope: Scope, send: Send, status: int, message: str) -> None:
    """Refuse a WebSocket upgrade with an HTTP answer (JSON `message`, `Retry-After`), where the server can
    send one (ASGI's `websocket.http.response`); else close it (1013: try again later)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        return await send({"type": "websocket.close", "code": 1013})
    await send_json_error(
        {**scope, "type": "http"}, as_denial(send), status, message, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def as_denial(send: Send) -> Send:
    """`send` for a WebSocket's denial response: HTTP response messages renamed to their WebSocket forms."""

    async def send_denial(message: Message) -> None:
        await send({**message, "type": "websocket." + message["type"]})

    return send_denial
