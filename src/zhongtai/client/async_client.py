"""`AsyncClient`: the SDK for asyncio code, the same calls as `Client`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import httpx

from zhongtai.client.answers import BatchResult, CapabilityInfo, Decision
from zhongtai.client.calls import CAPABILITIES, Call, batch_call, decide_call, default_headers, read_answer
from zhongtai.client.errors import ConnectionFailed
from zhongtai.client.retry import RETRY_ERRORS, RETRY_STATUSES, Retry


class AsyncClient:
    """Calls a Zhongtai gateway from asyncio: `async with AsyncClient(url, key) as zt: await zt.decide(...)`.

    `timeout` is seconds per try (or an `httpx.Timeout`); `retry` says how often and how long to retry on a
    failed connection, a 429 or a 503 (never on another status). Errors raise `ApiError` subclasses carrying
    the API's code, message and hint, or `ConnectionFailed`. Use it from one event loop.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retry = retry or Retry()
        self._http = httpx.AsyncClient(
            base_url=url, headers=default_headers(key, headers), timeout=timeout, transport=transport
        )

    async def decide(
        self,
        capability: str,
        inputs: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Decision:
        """One decision: `decide("churn-risk", customer_id=100005)` or `decide("churn-risk", {...})`.

        An Idempotency-Key is made for the call unless given: a retry of it is answered, and logged, once.
        """
        body, replayed = await self._send(decide_call(capability, inputs, fields, idempotency_key))
        return Decision.from_json(body, replayed)

    async def decide_batch(
        self,
        capability: str,
        inputs: Iterable[Mapping[str, Any]],
        /,
        *,
        idempotency_key: str | None = None,
    ) -> BatchResult:
        """One result per input, in order: a `Decision`, or an `ItemError` for an input that failed."""
        body, replayed = await self._send(batch_call(capability, inputs, idempotency_key))
        return BatchResult.from_json(body, replayed)

    async def capabilities(self) -> list[CapabilityInfo]:
        """The capabilities the gateway serves now, with the model version behind each."""
        body, _ = await self._send(CAPABILITIES)
        return [CapabilityInfo.from_json(item) for item in body["capabilities"]]

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: Call) -> tuple[Any, bool]:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.body, headers=dict(call.headers)
                )
            except RETRY_ERRORS as exc:
                wait = self._retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(
                        f"{call.method} {call.path}: {type(exc).__name__} after {attempt + 1} tries"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return read_answer(response)
                wait = self._retry.wait(attempt, response.headers.get("retry-after"))
                if wait is None:
                    return read_answer(response)
            await asyncio.sleep(wait)
            attempt += 1
