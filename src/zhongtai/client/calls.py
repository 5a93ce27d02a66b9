"""The calls the SDK makes, built and read the same way by `Client` and `AsyncClient` (which only send them).

Every decide gets an Idempotency-Key (a random UUID unless the caller gives one), made once per call and
sent unchanged with each retry, so the gateway answers a retry with the first answer and logs it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from zhongtai import __version__
from zhongtai.client.errors import api_error
from zhongtai.client.retry import parse_retry_after

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
USER_AGENT = f"zhongtai-client/{__version__}"


@dataclass(frozen=True)
class Call:
    """One HTTP request to make (and to make again, unchanged, on a retry)."""

    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def default_headers(key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The headers of every call: the key as a bearer token, the SDK's user agent, and the caller's own."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    headers.update(extra or {})
    return headers


def decide_call(
    capability: str,
    inputs: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    idempotency_key: str | None,
) -> Call:
    """`POST /v1/capabilities/{capability}/decide` with the inputs and fields merged (fields win)."""
    body = {**(inputs or {}), **fields}
    return Call("POST", f"{_capability_path(capability)}/decide", body, _idempotent(idempotency_key))


def batch_call(capability: str, inputs: Iterable[Mapping[str, Any]], idempotency_key: str | None) -> Call:
    """`POST /v1/capabilities/{capability}/decide/batch` with one decide body per input."""
    body = {"inputs": [dict(item) for item in inputs]}
    return Call("POST", f"{_capability_path(capability)}/decide/batch", body, _idempotent(idempotency_key))


CAPABILITIES = Call("GET", "/v1/capabilities")


def read_answer(response: httpx.Response) -> tuple[Any, bool]:
    """The JSON body of a successful answer and whether it was replayed; the API's error raised otherwise."""
    if response.is_success:
        return response.json(), response.headers.get(REPLAYED_HEADER) == "true"
    try:
        body = response.json()
    except ValueError:
        body = None
    raise api_error(response.status_code, body, parse_retry_after(response.headers.get("retry-after")))


def _capability_path(capability: str) -> str:
    if not capability:
        raise ValueError("capability must name a capability, e.g. 'churn-risk'")
    return f"/v1/capabilities/{quote(capability, safe='')}"


def _idempotent(key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: key or uuid.uuid4().hex}
