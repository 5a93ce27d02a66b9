"""JSON bodies for answers that carry feature values: JSON has no NaN or infinity, so such a value is null.

A NaN can reach an answer from a stored feature or an on-demand expression; Starlette's JSONResponse would
refuse it and the caller would get a 500. The common case costs nothing extra: the values are only walked
again when the first encoding meets a non-finite number.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.responses import JSONResponse


class FeatureJSONResponse(JSONResponse):
    """A JSONResponse in which NaN, Infinity and -Infinity are written as null."""

    def render(self, content: Any) -> bytes:
        try:
            return _dumps(content)
        except ValueError:
            return _dumps(finite(content))


def finite(value: Any) -> Any:
    """The value with every non-finite float inside it (dicts, lists, tuples) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _dumps(content: Any) -> bytes:
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()
