"""Whether a dataset keeps its promised refresh: one judgment for the catalog's dataset entry and the
Overview's stale-data list (and so for the console's badge, which shows the API's answer)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from zhongtai.spec.base import duration_seconds

# Words a dataset spec's `update_frequency` may promise, besides a duration such as 6h.
FREQUENCY_HOURS = {"hourly": 1.0, "daily": 24.0, "weekly": 168.0, "monthly": 720.0}
# A refresh job runs on its own schedule: a dataset is stale once half a period later than promised.
SLACK = 1.5


def promised_hours(frequency: Any) -> float | None:
    """The refresh a dataset spec promises, in hours (None: no promise, or one not in hours' terms)."""
    if not isinstance(frequency, str):
        return None
    text = frequency.strip().lower()
    if text in FREQUENCY_HOURS:
        return FREQUENCY_HOURS[text]
    try:
        return duration_seconds(text) / 3600
    except ValueError:
        return None


def age_hours(refreshed: datetime | None, at: datetime) -> float | None:
    """Hours since the last snapshot (None: never refreshed)."""
    return (at - refreshed) / timedelta(hours=1) if refreshed is not None else None


def is_stale(promised: float | None, age: float | None) -> bool | None:
    """Late for its promise (never refreshed counts as late); None when nothing was promised."""
    if promised is None:
        return None
    return age is None or age > promised * SLACK
