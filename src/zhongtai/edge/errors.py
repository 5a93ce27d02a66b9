"""The one error type of the edge runtime: a code, a message naming what is wrong and where, and a hint.

It mirrors the platform's `ZhongtaiError` (same codes for the same faults) without importing it: the edge
package runs where the platform is not installed.
"""

from __future__ import annotations


class EdgeError(Exception):
    """A bundle that cannot be loaded, or a request that cannot be answered: never a traceback to show."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str | None]:
        """The error as the gateway's JSON body has it: {code, message, hint}."""
        return {"code": self.code, "message": self.message, "hint": self.hint}
