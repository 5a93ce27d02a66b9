"""The simulation's chart: live AUC and drift share per simulated day, as an SVG written with the standard
library (neither matplotlib nor Pillow is a dependency; SVG carries its text, so the chart is labelled).

Both series share the 0..1 axis: AUC in blue, the drift share (the checked columns flagged) in orange, a
grey grid line every 0.1 labelled on the left, the days labelled below, and a red vertical line on the
promotion's day; a title and a legend name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 440
LEFT, RIGHT, TOP, BOTTOM = 50, 20, 60, 50
AUC_COLOUR, DRIFT_COLOUR, SHIFT_COLOUR = "#1f77b4", "#ff7f0e", "#d62728"
GRID, AXIS, INK = "#e1e1e1", "#505050", "#333333"


def _text(x: float, y: float, words: str, anchor: str = "start", size: int = 12, colour: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}" '
        f'font-family="sans-serif">{escape(words)}</text>'
    )


def _line(x0: float, y0: float, x1: float, y1: float, colour: str, width: float = 1) -> str:
    return (
        f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{colour}" '
        f'stroke-width="{width}"/>'
    )


def chart_svg(auc: Sequence[float | None], drift: Sequence[float | None], shift_day: int) -> str:
    """The chart as an SVG document (day 1 first; a day without a value is skipped, its neighbours
    joined)."""
    days = max(len(auc), len(drift), 2)

    def x(day: int) -> float:
        return LEFT + (day - 1) * (WIDTH - LEFT - RIGHT) / (days - 1)

    def y(value: float) -> float:
        return HEIGHT - BOTTOM - min(max(value, 0.0), 1.0) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(LEFT, 24, f"Retail churn flywheel: {days} simulated days", size=15),
    ]
    for tenth in range(11):
        parts.append(_line(LEFT, y(tenth / 10), WIDTH - RIGHT, y(tenth / 10), GRID))
        parts.append(_text(LEFT - 6, y(tenth / 10) + 4, f"{tenth / 10:.1f}", anchor="end", size=11))
    step = max(1, round(days / 15))
    for day in range(1, days + 1, step):
        parts.append(_text(x(day), HEIGHT - BOTTOM + 16, str(day), anchor="middle", size=11))
    parts.append(_text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - 12, "simulated day", anchor="middle"))
    parts.append(_line(LEFT, y(0), WIDTH - RIGHT, y(0), AXIS, 2))
    parts.append(_line(LEFT, y(0), LEFT, y(1), AXIS, 2))
    if 1 <= shift_day <= days:
        parts.append(_line(x(shift_day), y(0), x(shift_day), y(1), SHIFT_COLOUR, 2))
        parts.append(_text(x(shift_day) + 4, y(1) + 12, f"promotion (day {shift_day})", colour=SHIFT_COLOUR))
    for series, colour in ((drift, DRIFT_COLOUR), (auc, AUC_COLOUR)):
        points = [(x(day), y(value)) for day, value in enumerate(series, 1) if value is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
        parts.extend(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>' for px, py in points)
    legend = WIDTH - RIGHT - 260
    for offset, (colour, label) in enumerate(
        ((AUC_COLOUR, "live AUC"), (DRIFT_COLOUR, "drift share (columns flagged)"))
    ):
        parts.append(_line(legend, 40 + offset * 16, legend + 24, 40 + offset * 16, colour, 3))
        parts.append(_text(legend + 30, 44 + offset * 16, label))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_chart(
    path: Path, auc: Sequence[float | None], drift: Sequence[float | None], shift_day: int
) -> Path:
    """Write the chart (`chart_svg`) to `path` atomically."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(chart_svg(auc, drift, shift_day), encoding="utf-8")
    partial.replace(path)
    return path
