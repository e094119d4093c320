"""What a Motia 0.17 Python step sees, as types: its context, the API request and the response.

Step files import these under `if TYPE_CHECKING:` only, so they run unchanged on real Motia; mypy checks
the steps against them, and steprunner's own context too (`steprunner.context`), so the two can't drift.
Names are Motia's (its Python runner's `Context`, `Logger`, `ApiResponse`; its TypeScript `ApiRequest`,
`EmitData`, `ApiMiddleware`; `StateManager`, `StreamManager` are its `RpcStateManager`, `RpcStreamManager`).
JSON values are `Any`: a step's schemas and models check them at run time. Parameters are positional-only
where Motia's names differ from steprunner's (`args`/`fields`, `trace_id`/`group_id`): pass them by position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NotRequired, Protocol, TypedDict


class EmitData(TypedDict):
    """`context.emit`'s argument: a topic the step declares in `emits`, and its data."""

    topic: str
    data: Any


class Logger(Protocol):
    """`context.logger`: one line per call, with the fields logged beside the message."""

    def debug(self, message: str, fields: Mapping[str, Any] | None = None, /) -> None: ...
    def info(self, message: str, fields: Mapping[str, Any] | None = None, /) -> None: ...
    def warn(self, message: str, fields: Mapping[str, Any] | None = None, /) -> None: ...
    def error(self, message: str, fields: Mapping[str, Any] | None = None, /) -> None: ...


class StateManager(Protocol):
    """`context.state`: JSON values by (group, key). `get` and `get_group` answer `{"data": value}`
    for a value that is None or a dict without `data` (Motia's quirk, kept by steprunner)."""

    async def get(self, group_id: str, key: str, /) -> Any: ...
    async def set(self, group_id: str, key: str, value: Any, /) -> Any: ...
    async def delete(self, group_id: str, key: str, /) -> Any: ...
    async def get_group(self, group_id: str, /) -> Any: ...
    async def clear(self, group_id: str, /) -> None: ...


# A stream item as read back: the fields set, plus `id`, `_createdAt` and `__motia`.
StreamItem = dict[str, Any]


class StreamChannel(TypedDict):
    """Whom `Stream.send` reaches: the clients of a group, or of one item in it."""

    groupId: str
    id: NotRequired[str]


class StreamEvent(TypedDict):
    """What `Stream.send` pushes to them; nothing is stored."""

    type: str
    data: Any


class StreamManager(Protocol):
    """`context.streams.<name>`: the items of one stream by (group id, item id)."""

    async def get(self, group_id: str, id: str, /) -> StreamItem | None: ...
    async def set(self, group_id: str, id: str, data: Any, /) -> StreamItem | None: ...
    async def delete(self, group_id: str, id: str, /) -> StreamItem | None: ...
    async def getGroup(self, group_id: str, /) -> list[StreamItem]: ...  # noqa: N802 - Motia's name
    async def get_group(self, group_id: str, /) -> list[StreamItem]: ...
    async def send(self, channel: StreamChannel, event: StreamEvent, /) -> None: ...


class Streams(Protocol):
    """`context.streams`: the project's streams by name, as `streams["name"]` or `streams.name`."""

    def __getitem__(self, name: str, /) -> StreamManager: ...
    def __getattr__(self, name: str, /) -> StreamManager: ...


class Context(Protocol):
    """A handler's second argument (a cron handler's only one). Read-only: a step never replaces its parts."""

    @property
    def trace_id(self) -> str: ...
    @property
    def flows(self) -> list[str]: ...
    @property
    def logger(self) -> Logger: ...
    @property
    def state(self) -> StateManager: ...
    @property
    def streams(self) -> Streams: ...

    async def emit(self, event: EmitData, /) -> None: ...


class ApiRequest(TypedDict):
    """An API handler's first argument. `headers` have lower-case names and one value each: the only
    header Node gives as a list is `set-cookie`, which a request does not carry."""

    body: object  # the parsed JSON body (None when empty): what the client sent, unchecked
    pathParams: dict[str, str]
    queryParams: dict[str, str | list[str]]
    headers: dict[str, str]
    rawBody: str


class ApiResponse(TypedDict):
    """What an API handler returns: a JSON body (or a str/bytes body with its own Content-Type)."""

    status: int
    body: Any
    headers: NotRequired[dict[str, str]]


ApiRouteHandler = Callable[[ApiRequest, Context], Awaitable[ApiResponse]]
# `next()` runs the rest of the chain: the next middleware, then the handler
ApiNext = Callable[[], Awaitable[ApiResponse]]
ApiMiddleware = Callable[[ApiRequest, Context, ApiNext], Awaitable[ApiResponse]]
