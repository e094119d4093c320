"""The model client's HTTP transport: every response body bounded to `OPENAI_MAX_ANSWER_BYTES`.

The openai SDK reads an error body whole by itself; this transport stops any body as soon as it
passes the limit, raising AnswerTooLarge (services/ai_answer.py). Imported with the SDK only
(its HTTP client is httpx2, the SDK's own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2

from services.ai_answer import AnswerTooLarge


class CappedStream(httpx2.AsyncByteStream):
    """A response body that raises AnswerTooLarge as soon as more than `limit` bytes have arrived."""

    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self.inner:
            seen += len(chunk)
            if seen > self.limit:
                raise AnswerTooLarge(self.limit)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class CappedTransport(httpx2.AsyncBaseTransport):
    """The SDK's HTTP transport, with every response body bounded."""

    def __init__(self, limit: int, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.limit = limit
        self.inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        # Not refused here on a declared length: the SDK would take that for a connection error and
        # retry. Reading stops at the limit instead, where the error is the SDK's reader's (or ours).
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = CappedStream(response.stream, self.limit)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
