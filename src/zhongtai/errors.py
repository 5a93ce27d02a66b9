"""The one error type users see: a code, a message naming what is wrong and where, and a hint.

The CLI prints it as one red line; the gateway turns it into a JSON body {code, message, hint}. Every code is
a member of `ErrorCode`, and every member carries its HTTP status, so both front ends agree on what kind of
failure it was and no code can fall through to a guessed status. Only `internal` is a 5xx for a caller's
request: it means a bug in Zhongtai, never a bad request.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error code Zhongtai reports; `status` is the HTTP status the gateway answers with."""

    INVALID_JSON = "invalid_json"
    INVALID_ARGUMENT = "invalid_argument"
    INVALID_SPEC = "invalid_spec"
    INVALID_CONFIG = "invalid_config"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    CONFLICT = "conflict"
    SCHEMA_CHANGED = "schema_changed"
    QUALITY_FAILED = "quality_failed"
    STALE_BUILD = "stale_build"
    PII_KEY_MISMATCH = "pii_key_mismatch"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SECRET_MISSING = "secret_missing"
    PII_DECRYPT_FAILED = "pii_decrypt_failed"
    INSECURE_KEY_FILE = "insecure_key_file"
    SOURCE_ERROR = "source_error"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"

    @property
    def status(self) -> int:
        """The HTTP status of this kind of failure."""
        return _STATUS[self]


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_ARGUMENT: 422,
    ErrorCode.INVALID_SPEC: 422,
    ErrorCode.INVALID_CONFIG: 422,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.CONFLICT: 409,
    ErrorCode.SCHEMA_CHANGED: 409,
    ErrorCode.QUALITY_FAILED: 409,
    # The data is older than its spec: a state to fix (rebuild), like a conflict.
    ErrorCode.STALE_BUILD: 409,
    ErrorCode.PII_KEY_MISMATCH: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.SECRET_MISSING: 422,
    ErrorCode.PII_DECRYPT_FAILED: 422,
    ErrorCode.INSECURE_KEY_FILE: 422,
    ErrorCode.SOURCE_ERROR: 424,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}


class ZhongtaiError(Exception):
    """A failure the user can act on. `code` picks the HTTP status, `hint` says what to do next.

    `code` is an `ErrorCode` or its string value; any other string is a bug and raises ValueError here.
    """

    def __init__(self, code: ErrorCode | str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.hint = hint

    @property
    def http_status(self) -> int:
        """The HTTP status the gateway answers this error with."""
        return self.code.status

    def to_dict(self) -> dict[str, str]:
        """The error as the JSON body callers get (no hint key when there is none)."""
        body = {"code": str(self.code), "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class NotFound(ZhongtaiError):
    def __init__(self, kind: str, name: str, hint: str | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{kind} '{name}' is not registered", hint)


class SourceError(ZhongtaiError):
    """A source system could not be reached or answered something we cannot read."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(ErrorCode.SOURCE_ERROR, message, hint)
