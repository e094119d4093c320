"""A small, real OpenAI-compatible HTTP server for tests, and its pytest fixture `fake_openai`.

It serves `POST /v1/chat/completions` on 127.0.0.1 (a free port) from a background thread
with uvicorn, answering in the shape the openai SDK parses (`id`, `object`, `created`,
`model`, `choices[].message`, `finish_reason`, `usage`). The real SDK, and a real server
process given `OPENAI_BASE_URL=fake.base_url`, talk to it over HTTP like they would to
OpenAI, so the tests exercise the real client, retries and timeouts included.

Behaviours (`fake.mode = ...`, or `fake.script(...)` for the next few requests only):

- `good`: a valid profile (`GOOD_PROFILE`, or whatever `fake.answer` is set to);
- `rate_limit`: 429 with an OpenAI-style error body;
- `server_error`: 500;
- `slow`: answers `good` only after `slow_seconds` (longer than any test client timeout);
- `malformed`: a 200 whose message content is not JSON;
- `oversized`: a 200 whose profile has extra keys and overlong fields (`OVERSIZED_PROFILE`);
- `refusal`: a 200 whose message is a refusal (no content), as structured outputs refuse;
- `huge`: a 200 chat completion of `huge_bytes` (300 MB), streamed in 1 MiB chunks without a
  length, made as it is sent (neither side need hold it whole unless it reads it whole).

What `good` answers can be scripted too: `fake.answer` is a JSON object, or a function of the
request that returns one, or the name of a behaviour for that request (a model that "reads" the
pet, so concurrent requests each get their own answer); `fake.script({"choice": "ready", ...})`
answers that object to the next request. So a test makes an agent choose whatever it likes,
including a choice outside the allowed set.

Every request is recorded (`fake.requests`), so a test can check what the model was sent.
Error answers carry `retry-after-ms: 1` so SDK retries cost milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Mode = Literal["good", "rate_limit", "server_error", "slow", "malformed", "oversized", "refusal", "huge"]
MODES: tuple[Mode, ...] = ("good", "rate_limit", "server_error", "slow", "malformed", "oversized", "refusal", "huge")
HUGE_CHUNK = b"x" * (1024 * 1024)
REFUSAL = "I'm sorry, I can't help with that request."

GOOD_PROFILE: dict[str, Any] = {
    "bio": (
        "Luna is a graceful and independent cat with striking green eyes who enjoys sunny "
        "windowsills and gentle head scratches. She would thrive in a quiet, loving home."
    ),
    "breedGuess": "Domestic Shorthair",
    "temperamentTags": ["independent", "calm", "affectionate", "observant", "gentle"],
    "adopterHints": (
        "Ideal for singles or couples seeking a low-maintenance companion. Prefers quiet "
        "environments and would do best as an only pet."
    ),
}

OVERSIZED_PROFILE: dict[str, Any] = {
    "bio": "Rex is a bouncy, happy dog who greets everyone at the door. " * 20,
    "breedGuess": "Probably a Labrador Retriever crossed with a Border Collie and a bit of Beagle",
    "temperamentTags": [
        "playful",
        "Playful",
        "loyal",
        "a dog who loves long walks on the beach",
        "smart",
        "brave",
        "goofy",
        "calm",
    ],
    "adopterHints": "Needs a yard and daily exercise. " * 40,
    "status": "adopted",
    "id": "999",
    "ownerEmail": "someone@example.com",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received: what a test may want to check about it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def response_format(self) -> Any:
        return self.body.get("response_format") if isinstance(self.body, dict) else None

    @property
    def user_data(self) -> Any:
        """The user message, parsed as JSON (the pet, as data)."""
        users = [m for m in self.messages if m.get("role") == "user"]
        return json.loads(users[-1]["content"]) if users else None


Answer = Any | Callable[[RecordedRequest], Any]  # JSON content, or per request: content or a Mode
Step = Mode | dict[str, Any]  # a scripted behaviour, or a `good` answer with this content


class FakeOpenAI:
    """The fake server; start it once, switch its behaviour per test with `mode` or `script`."""

    def __init__(self) -> None:
        self.mode: Mode = "good"
        self.answer: Answer = dict(GOOD_PROFILE)
        self.slow_seconds = 5.0
        self.huge_bytes = 300 * 1024 * 1024
        self._script: deque[Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(
            routes=[Route("/v1/chat/completions", self._chat_completions, methods=["POST"])], lifespan=self._lifespan
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="fake-openai", daemon=True
        )

    # ---- control, from the test thread ----

    def start(self) -> FakeOpenAI:
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("fake OpenAI server did not start within 10 s")
        return self

    def stop(self) -> None:
        self.release_slow_requests()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def reset(self) -> None:
        """Back to a fresh state: `good`, default answer, nothing scripted or recorded."""
        self.release_slow_requests()
        with self._lock:
            self.mode = "good"
            self.answer = dict(GOOD_PROFILE)
            self.slow_seconds = 5.0
            self.huge_bytes = 300 * 1024 * 1024
            self._script.clear()
            self._requests.clear()

    def script(self, *steps: Step) -> None:
        """Use these behaviours (or answers) for the next requests, in order, then go back to `mode`."""
        with self._lock:
            self._script.extend(steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def release_slow_requests(self) -> None:
        """End any `slow` request still waiting, so nothing lingers past its test."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed just now: nothing waits
                loop.call_soon_threadsafe(self._swap_release)

    def _swap_release(self) -> None:
        """On the server's loop: wake every waiting `slow` request; later ones wait afresh."""
        if self._release is not None:
            self._release.set()
        self._release = asyncio.Event()

    # ---- the server, on its own thread and loop ----

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        self._started.set()
        yield

    def _next_step(self, request: RecordedRequest) -> tuple[Mode, Answer]:
        with self._lock:
            self._requests.append(request)
            step = self._script.popleft() if self._script else self.mode
            return (step, self.answer) if isinstance(step, str) else ("good", step)

    async def _chat_completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body
        )
        mode, answer = self._next_step(recorded)
        if mode == "good" and callable(answer):
            answer = answer(recorded)
            if answer in MODES:  # a behaviour chosen for this request
                mode, answer = answer, GOOD_PROFILE
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return _error(400, "invalid_request_error", "model and messages are required")
        if mode == "rate_limit":
            return _error(429, "rate_limit_exceeded", "Rate limit reached for requests")
        if mode == "server_error":
            return _error(500, "server_error", "The server had an error while processing your request")
        if mode == "slow":
            assert self._release is not None
            try:
                await asyncio.wait_for(self._release.wait(), timeout=self.slow_seconds)
            except TimeoutError:
                pass
        if mode == "refusal":
            return JSONResponse(_completion(body["model"], None, refusal=REFUSAL))
        if mode == "huge":
            return StreamingResponse(_huge_completion(body["model"], self.huge_bytes), media_type="application/json")
        if mode == "malformed":
            content = '{"bio": "Rex is a good boy", "breedGuess": "Lab", "temperamentTags": ["loyal",'
        elif mode == "oversized":
            content = json.dumps(OVERSIZED_PROFILE)
        else:
            content = json.dumps(answer)
        return JSONResponse(_completion(body["model"], content))


def _completion(model: str, content: str | None, refusal: str | None = None) -> dict[str, Any]:
    prompt_tokens, completion_tokens = 120, max(1, len(content or refusal or "") // 4)
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


async def _huge_completion(model: str, size: int) -> AsyncIterator[bytes]:
    """A chat completion whose content is `size` bytes of "x", a chunk at a time."""
    head, tail = json.dumps(_completion(model, "\x00")).encode().split(b"\\u0000")
    yield head
    for _ in range(size // len(HUGE_CHUNK)):
        yield HUGE_CHUNK
    yield tail


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": code, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers={"retry-after-ms": "1"})


_shared: FakeOpenAI | None = None
_shared_lock = threading.Lock()


def shared_fake_openai() -> FakeOpenAI:
    """One server per test process, started on first use and stopped when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FakeOpenAI().start()
            atexit.register(_shared.stop)
        return _shared


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """The shared fake OpenAI server, reset to `good` with no recorded requests for each test."""
    server = shared_fake_openai()
    server.reset()
    yield server
    server.reset()
