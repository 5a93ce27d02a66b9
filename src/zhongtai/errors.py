"""The one error type users see: a code, a message naming what is wrong and where, and a hint.

The CLI prints it as one red line; the gateway turns it into a 4xx JSON body. Codes map to HTTP statuses so
both front ends agree on what kind of failure it was.
"""

from __future__ import annotations

HTTP_STATUS = {
    "invalid_spec": 422,
    "invalid_argument": 422,
    "not_found": 404,
    "conflict": 409,
    "unauthorized": 401,
    "forbidden": 403,
    "source_error": 424,
    "schema_changed": 409,
    "secret_missing": 422,
    "quality_failed": 409,
    "unavailable": 503,
}


class ZhongtaiError(Exception):
    """A failure the user can act on. `code` picks the HTTP status, `hint` says what to do next."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def to_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class NotFound(ZhongtaiError):
    def __init__(self, kind: str, name: str, hint: str | None = None) -> None:
        super().__init__("not_found", f"{kind} '{name}' is not registered", hint)


class SourceError(ZhongtaiError):
    """A source system could not be reached or answered something we cannot read."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__("source_error", message, hint)
