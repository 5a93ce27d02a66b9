"""When the SDK tries again, and after how long.

Retried: a connection that failed or timed out, a 429 and a 503 — and nothing else (another 4xx will not
change by asking again; another 5xx may have decided and is the gateway's to fix). A retry is safe for every
call the SDK makes: reads change nothing, and each decide carries an Idempotency-Key, so a decide that was
answered but whose answer was lost is answered again from the kept answer, never decided and logged twice.

The wait before retry n (0 for the first) is exponential with "equal jitter": half of
min(max_backoff_s, backoff_s * 2**n), plus a random part up to the other half, so clients that failed
together do not come back together. A `Retry-After` header (seconds or an HTTP date) is honoured as it is,
up to `max_retry_after_s`; if the gateway asks for a longer wait the SDK gives up and raises at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({429, 503})
# Transport failures after which the request is sent again: it either never arrived, or its answer was lost.
RETRY_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class Retry:
    """How many times to try a call in all, and how long to wait between tries (see the module docstring)."""

    attempts: int = 4
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1 (1 means no retry)")
        if min(self.backoff_s, self.max_backoff_s, self.max_retry_after_s) < 0:
            raise ValueError("Retry waits must not be negative")

    def wait(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before trying again after try number `attempt` (0 for the first) failed, or None
        when no try is left or the gateway asks for a longer wait than `max_retry_after_s`."""
        if attempt + 1 >= self.attempts:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked if asked <= self.max_retry_after_s else None
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
