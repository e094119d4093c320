"""The OpenAI-compatible model behind the AI steps: its settings, its client, one JSON answer, and
what a failure means in a sentence. The profile enricher and the review agents share it.

Configuration, read from the environment on every call (so `.env` and tests just work):

- `OPENAI_API_KEY`: no key (or an empty one) means no network call at all.
- `OPENAI_BASE_URL`: optional, for a proxy or a local OpenAI-compatible server.
- `OPENAI_MODEL`: default `gpt-4o-mini`, small, cheap and good at short JSON answers.
- `OPENAI_TIMEOUT_SECONDS`: default 15, at most 45. The budget for the whole call, retries
  included, so an AI step's handler timeout (60 s) always covers it.
- `OPENAI_MAX_RETRIES`: default 2, at most 5. The SDK retries 408/409/429/5xx and
  connection errors with backoff, honouring the server's Retry-After.
- `OPENAI_MAX_ANSWER_BYTES`: default 1 MiB, at least 16 KiB, at most 16 MiB. A response body
  over it is not read further and the call fails (services/ai_answer.py); an answer is parsed
  on a worker thread, never on the event loop.

The call waits outside the database (`waiting_outside`): a step that wrote before asking the
model holds no connection and no row lock while the model thinks (runtime/docs/events.md).

Callers never let a failure through to the pet: they catch it, describe it with
`describe_failure` (short, secret-free) and fall back to their own rules.

No key is a configuration, not a failure (the default: AI is off). `usable_settings` then raises
`AiOff`, whose reason is `NO_KEY`; callers tell it apart with `is_ai_off` and log it as the
choice it is (INFO, not the spec's ❌ line, which is for a call that failed), and
`tell_ai_is_off_once` says so once per process with how to turn AI on. Once per process rather
than at start-up: a step has no start-up hook on real Motia, and steprunner's runtime knows
nothing of this service's settings, so the first keyless profile or review says it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import threading
import weakref
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.ai_answer import AnswerError, parse_completion, read_capped
from services.validation import one_line
from steprunner.journal.transaction import waiting_outside

if TYPE_CHECKING:  # the SDK takes ~0.7 s to import: only pay for it when there is a key
    from openai import AsyncOpenAI

    from steprunner.step_types import Logger

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT_SECONDS = 15.0
MAX_TIMEOUT_SECONDS = 45.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024  # answers are a few KiB (MAX_COMPLETION_TOKENS); room for a verbose server
MIN_MAX_ANSWER_BYTES = 16 * 1024
MAX_MAX_ANSWER_BYTES = 16 * 1024 * 1024
MAX_COMPLETION_TOKENS = 2000  # answers are a few hundred tokens; reasoning models spend some first
ERROR_MAX_CHARS = 300
NO_KEY = "OPENAI_API_KEY is not set"
AI_IS_OFF = (
    "🤖 AI is off: the shelter's rule-based profiles and reviews are used "
    "(set OPENAI_API_KEY to have an AI model write them)"
)


class AiSettings(BaseModel):
    """The model client's configuration, validated once here; fields are read by env name."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    model: str = Field(default=DEFAULT_MODEL, min_length=1, validation_alias="OPENAI_MODEL")
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=MAX_TIMEOUT_SECONDS, validation_alias="OPENAI_TIMEOUT_SECONDS"
    )
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, le=5, validation_alias="OPENAI_MAX_RETRIES")
    max_answer_bytes: int = Field(
        default=DEFAULT_MAX_ANSWER_BYTES,
        ge=MIN_MAX_ANSWER_BYTES,
        le=MAX_MAX_ANSWER_BYTES,
        validation_alias="OPENAI_MAX_ANSWER_BYTES",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AiSettings:
        """Read the `OPENAI_*` variables; an empty variable counts as unset."""
        env = os.environ if environ is None else environ
        names = [str(field.validation_alias) for field in cls.model_fields.values()]
        return cls.model_validate({name: env[name].strip() for name in names if env.get(name, "").strip()})


class AiUnavailable(Exception):
    """No model to ask: no key, or settings that don't validate. The message says which."""


class AiOff(AiUnavailable):
    """No key: AI is off by configuration, the rule-based profiles and reviews are the choice."""


def usable_settings() -> AiSettings:
    """The settings from the environment, or AiUnavailable saying why no model can be asked."""
    try:
        settings = AiSettings.from_env()
    except ValidationError as exc:
        raise AiUnavailable(f"invalid AI settings: {one_line(exc)}") from None
    if not settings.api_key:
        raise AiOff(NO_KEY)
    return settings


def is_ai_off(reason: str | None) -> bool:
    """Whether a fallback's reason is that no key is set (a choice), not that a call failed."""
    return reason == NO_KEY


_told_ai_is_off = False
_told_lock = threading.Lock()  # handlers may run on more than one thread's loop


def tell_ai_is_off_once(logger: Logger) -> None:
    """The `AI_IS_OFF` line, the first time this process uses the rules for lack of a key."""
    global _told_ai_is_off
    with _told_lock:
        if _told_ai_is_off:
            return
        _told_ai_is_off = True
    logger.info(AI_IS_OFF)


async def ask_for_json(settings: AiSettings, messages: list[dict[str, str]], response_format: dict[str, Any]) -> object:
    """One chat completion within the settings' whole budget, its answer parsed as JSON.

    Raises on any failure: the SDK's errors, TimeoutError, or AnswerError (no answer, one over
    `max_answer_bytes`, a cut-off or refused one, one that is not JSON).
    """
    async with waiting_outside():  # nothing of the database held while the model thinks
        client = await _client(settings)
        async with (
            asyncio.timeout(settings.timeout_seconds),
            client.chat.completions.with_streaming_response.create(  # type: ignore[call-overload]  # plain dicts: the SDK's TypedDicts
                model=settings.model,
                messages=messages,
                response_format=response_format,
                max_completion_tokens=MAX_COMPLETION_TOKENS,
            ) as response,
        ):
            body = await read_capped(response.iter_bytes(), settings.max_answer_bytes)
    return await asyncio.to_thread(json_of_answer, body)


def json_of_answer(body: bytes) -> object:
    """The JSON value a chat completion's body carries, or AnswerError. Blocking: run on a thread."""
    completion = parse_completion(body)
    if not completion.choices:
        raise AnswerError("the model returned no choices")
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        raise AnswerError("the model's answer was cut off (finish_reason=length)")
    if choice.message.refusal:
        raise AnswerError(f"the model refused: {choice.message.refusal}")
    if not choice.message.content:
        raise AnswerError("the model's answer was empty")
    return parse_json(choice.message.content)


def parse_json(content: str) -> object:
    """The JSON value in an answer; a Markdown code fence around it is tolerated."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"the model's answer is not valid JSON ({exc.msg} at char {exc.pos})") from None


def describe_failure(exc: Exception, settings: AiSettings) -> str:
    """A short, secret-free sentence for the log, the failed event or the decision record."""
    return _describe(exc, settings)[:ERROR_MAX_CHARS]


def _describe(exc: Exception, settings: AiSettings) -> str:
    if isinstance(exc, TimeoutError):
        return f"OpenAI API timed out after {settings.timeout_seconds:g}s"
    if isinstance(exc, (AnswerError, AiUnavailable)):
        return str(exc)
    openai = _openai
    if openai is None:  # the SDK itself failed to import
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, openai.APITimeoutError):
        return f"OpenAI API timed out after {settings.timeout_seconds:g}s"
    if isinstance(exc, openai.RateLimitError):
        return "OpenAI API rate limit exceeded"
    if isinstance(exc, openai.AuthenticationError):
        return "OpenAI API rejected the key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.APIStatusError):
        detail = _error_message(exc.body)
        return f"OpenAI API error {exc.status_code}" + (f": {detail}" if detail else "")
    if isinstance(exc, openai.APIConnectionError):
        return f"could not reach the OpenAI API at {settings.base_url or 'api.openai.com'}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _error_message(body: object) -> str:
    """The `error.message` of an OpenAI-style error body, if there is one."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return error["message"][:200]
    return ""


_openai: ModuleType | None = None
# One client per event loop and settings: building one costs ~20 ms (TLS setup), which
# would stall a busy loop if paid per call; an httpx client must not outlive its loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[AiSettings, AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


async def _client(settings: AiSettings) -> AsyncOpenAI:
    """The cached client; the first call imports the SDK on a thread, off the event loop."""
    global _openai
    if _openai is None:  # not sys.modules: it holds the module while another thread imports it
        _openai = await asyncio.to_thread(importlib.import_module, "openai")
    openai = _openai
    from services.ai_transport import CappedTransport  # httpx2, which the SDK has just imported

    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(settings)
    if client is None:
        client = openai.AsyncOpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            http_client=openai.DefaultAsyncHttpxClient(transport=CappedTransport(settings.max_answer_bytes)),
        )
        per_loop[settings] = client
    return client
