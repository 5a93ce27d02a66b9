"""What the SDK raises: the API's own errors (its code, message and hint, by HTTP status), or a failed
connection once the retries are spent. Everything derives from `ZhongtaiClientError`."""

from __future__ import annotations

from typing import Any


class ZhongtaiClientError(Exception):
    """Anything the SDK raises."""


class ConnectionFailed(ZhongtaiClientError):
    """The gateway could not be reached (or did not answer in time) after every retry; `__cause__` is the
    last transport error."""


class ApiError(ZhongtaiClientError):
    """The gateway answered with an error: `status`, and the body's `code`, `message` and `hint`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" ({hint})" if hint else ""))
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.retry_after = retry_after  # seconds, when the gateway said when to come back


class InvalidRequest(ApiError):
    """400, 413, 415 or 422: the request is wrong; the message names the field. Never retried."""


class Unauthorized(ApiError):
    """401: no key, an unknown key or a revoked key."""


class Forbidden(ApiError):
    """403: the key lacks the role."""


class NotFound(ApiError):
    """404: no such capability (the hint says why it did not load, if it tried) or route."""


class Conflict(ApiError):
    """409: the state does not allow it, e.g. an Idempotency-Key sent before with another body."""


class RateLimited(ApiError):
    """429 after every retry."""


class Unavailable(ApiError):
    """503 after every retry: the gateway is loading or overloaded."""


class ServerError(ApiError):
    """Any other 5xx: a failure of the gateway, with details only in its log."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def api_error(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer; a body that is not the gateway's {code, message, hint} (a proxy's
    page) still gives the status, with a code made from it."""
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return kind(status, body["code"], str(body.get("message", "")), body.get("hint"), retry_after)
    return kind(status, f"http_{status}", f"HTTP {status} without an error body", None, retry_after)
