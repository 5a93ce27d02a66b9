"""`Client`: the blocking SDK (one httpx connection pool, keep-alive, retries per `Retry`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx

from zhongtai.client.answers import BatchResult, CapabilityInfo, Decision
from zhongtai.client.calls import (
    CAPABILITIES,
    NEVER_SENT,
    Call,
    batch_call,
    decide_call,
    default_headers,
    read_answer,
)
from zhongtai.client.errors import ConnectionFailed
from zhongtai.client.governance import Governance
from zhongtai.client.retry import RETRY_ERRORS, RETRY_STATUSES, Retry


class Client:
    """Calls a Zhongtai gateway: `Client("http://127.0.0.1:8700", "zt_...")`, best used as a context manager.

    `timeout` is seconds per try (or an `httpx.Timeout`); `retry` says how often and how long to retry on a
    failed connection, a 429 or a 503 (never on another status). Errors raise `ApiError` subclasses carrying
    the API's code, message and hint, or `ConnectionFailed`. Thread-safe, like the httpx client it holds.
    """

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._retry = retry or Retry()
        self._http = httpx.Client(
            base_url=url, headers=default_headers(key, headers), timeout=timeout, transport=transport
        )

    def decide(
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
        body, replayed = self._send(decide_call(capability, inputs, fields, idempotency_key))
        return Decision.from_json(body, replayed)

    def decide_batch(
        self,
        capability: str,
        inputs: Iterable[Mapping[str, Any]],
        /,
        *,
        idempotency_key: str | None = None,
    ) -> BatchResult:
        """One result per input, in order: a `Decision`, or an `ItemError` for an input that failed."""
        body, replayed = self._send(batch_call(capability, inputs, idempotency_key))
        return BatchResult.from_json(body, replayed)

    def capabilities(self) -> list[CapabilityInfo]:
        """The capabilities the gateway serves now, with the model version behind each."""
        body, _ = self._send(CAPABILITIES)
        return [CapabilityInfo.from_json(item) for item in body["capabilities"]]

    @property
    def governance(self) -> Governance:
        """Governing calls (keys, review steps, aliases, traffic, audit, grants): `zt.governance.keys()`.
        They need a key whose roles the policies grant `manage_keys`, `approve`... (docs/sdk.md)."""
        return Governance(self._send, self._lines)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call) -> tuple[Any, bool]:
        with self._response(call, stream=False) as response:
            return read_answer(response)

    def _lines(self, call: Call) -> Iterator[str]:
        """The answer's body line by line, as it arrives (a long export never sits in memory)."""
        with self._response(call, stream=True) as response:
            if not response.is_success:
                response.read()
                read_answer(response)  # raises the API's error
            try:
                yield from response.iter_lines()
            except httpx.TransportError as exc:
                raise ConnectionFailed(
                    f"{call.method} {call.path}: {type(exc).__name__}; the answer broke off"
                ) from exc

    @contextmanager
    def _response(self, call: Call, stream: bool) -> Iterator[httpx.Response]:
        """The answer once a try is not to be retried: a success, an error that will not change, or the
        last retry's. A call that is not `safe` is sent again only when it never left."""
        attempt = 0
        retried = RETRY_ERRORS if call.safe else NEVER_SENT
        while True:
            request = self._http.build_request(
                call.method, call.path, json=call.body, headers=dict(call.headers), params=dict(call.params)
            )
            try:
                response = self._http.send(request, stream=stream)
            except retried as exc:
                wait = self._retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(
                        f"{call.method} {call.path}: {type(exc).__name__} after {attempt + 1} tries"
                    ) from exc
            except httpx.TransportError as exc:
                if call.safe:
                    raise
                raise ConnectionFailed(
                    f"{call.method} {call.path}: {type(exc).__name__}; not sent again, it may have been done"
                ) from exc
            else:
                wait = None
                if response.status_code in RETRY_STATUSES:
                    wait = self._retry.wait(attempt, response.headers.get("retry-after"))
                if wait is None:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                response.close()
            time.sleep(wait)
            attempt += 1
