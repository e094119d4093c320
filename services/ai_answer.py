"""Reading a model's answer: at most `OPENAI_MAX_ANSWER_BYTES` of it, and parsed off the event loop.

The SDK would read an answer whole, however large, and parse it on the event loop. So the client's
HTTP transport counts every response body's bytes as they arrive (services/ai_transport.py: the
error bodies the SDK reads itself too), the chat completion is read as a stream (`read_capped`, which
counts the decoded bytes as well: a compressed answer is bounded by what it becomes), and
services/ai_client.py parses it (`parse_completion`, then the JSON it carries) on a worker thread.
An answer over the limit is a failed call (`AnswerTooLarge`): the caller falls back to its rules,
as for any other failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, ValidationError

from services.validation import one_line


class AnswerError(Exception):
    """The model answered, but not with something usable; the message says how."""


class AnswerTooLarge(AnswerError):
    """The answer's body is over the limit: reading it stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the model's answer is over OPENAI_MAX_ANSWER_BYTES ({limit} bytes): not read further")


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole (decoded) body, or AnswerTooLarge once it passes `limit` bytes."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(limit)
    return bytes(body)


class Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class Choice(BaseModel):
    message: Message
    finish_reason: str | None = None


class Completion(BaseModel):
    """What the service reads of a chat completion (the rest of it is ignored)."""

    choices: list[Choice] = []


def parse_completion(body: bytes) -> Completion:
    """The completion in a response body; AnswerError when it is not one. Blocking: run it on a thread."""
    try:
        return Completion.model_validate_json(body)
    except ValidationError as exc:
        raise AnswerError(f"the model's answer is not a chat completion: {one_line(exc)}") from None
