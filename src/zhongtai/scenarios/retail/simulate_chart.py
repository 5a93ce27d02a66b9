"""The simulation's chart: live AUC and drift share per simulated day, as a PNG written with the standard
library (zlib and struct), since neither matplotlib nor Pillow is a dependency.

Both series share the 0..1 axis: AUC in blue, the drift share (the checked columns flagged) in orange, a
grey grid line every 0.1 and a red vertical line on the promotion's day. The legend is the CLI's (the chart
carries no text: drawing glyphs would need a font).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

WIDTH, HEIGHT, MARGIN = 900, 420, 30
WHITE, GRID, AXIS = (255, 255, 255), (225, 225, 225), (80, 80, 80)
AUC_COLOUR, DRIFT_COLOUR, SHIFT_COLOUR = (31, 119, 180), (255, 127, 14), (214, 39, 40)
Colour = tuple[int, int, int]


class Canvas:
    """An RGB raster with thick lines, written out as a PNG."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(WHITE) * width * height)

    def dot(self, x: int, y: int, colour: Colour, size: int = 1) -> None:
        """A square of `size` pixels around (x, y), clipped to the canvas."""
        for dx in range(-(size // 2), size - size // 2):
            for dy in range(-(size // 2), size - size // 2):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    at = (py * self.width + px) * 3
                    self.pixels[at : at + 3] = bytes(colour)

    def line(self, start: tuple[int, int], end: tuple[int, int], colour: Colour, size: int = 1) -> None:
        """A straight line (stepped along its longer axis)."""
        (x0, y0), (x1, y1) = start, end
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps), colour, size)

    def png(self) -> bytes:
        """The canvas as PNG bytes (8-bit RGB, no filter)."""
        row = self.width * 3
        raw = b"".join(b"\x00" + bytes(self.pixels[y * row : (y + 1) * row]) for y in range(self.height))

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def write_chart(
    path: Path, auc: Sequence[float | None], drift: Sequence[float | None], shift_day: int
) -> Path:
    """Draw AUC and drift share per day (day 1 first; a day without a value is skipped, its neighbours joined)
    and write the PNG atomically."""
    canvas = Canvas(WIDTH, HEIGHT)
    days = max(len(auc), len(drift), 2)

    def x(day: int) -> int:
        return MARGIN + round((day - 1) * (WIDTH - 2 * MARGIN) / (days - 1))

    def y(value: float) -> int:
        return HEIGHT - MARGIN - round(min(max(value, 0.0), 1.0) * (HEIGHT - 2 * MARGIN))

    for tenth in range(11):
        canvas.line((MARGIN, y(tenth / 10)), (WIDTH - MARGIN, y(tenth / 10)), GRID)
    canvas.line((MARGIN, y(0)), (WIDTH - MARGIN, y(0)), AXIS, 2)
    canvas.line((MARGIN, y(0)), (MARGIN, y(1)), AXIS, 2)
    if 1 <= shift_day <= days:
        canvas.line((x(shift_day), y(0)), (x(shift_day), y(1)), SHIFT_COLOUR, 2)
    for series, colour in ((drift, DRIFT_COLOUR), (auc, AUC_COLOUR)):
        points = [(x(day), y(value)) for day, value in enumerate(series, 1) if value is not None]
        for start, end in pairwise(points):
            canvas.line(start, end, colour, 3)
        for point in points:
            canvas.dot(*point, colour, 7)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(canvas.png())
    partial.replace(path)
    return path
