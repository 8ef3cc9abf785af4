"""Reading order for multi-column PDF pages.

PDFium returns text in content-stream order, which for a two-column page may be the right column first or
the columns interleaved. When a page's narrow text runs leave an empty vertical band, the page is read as
columns: full-width runs (titles, wide tables) split it into bands, and each band is read left column
top to bottom, then right. Pages without such a gap keep PDFium's order untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_RUNS_PER_COLUMN = 5
MIN_COLUMN_WIDTH = 0.25
"""A column's typical line spans at least this share of the page (page numbers and code do not)."""
MIN_GAP = 0.02
"""The empty band between columns, as a share of the page width."""


@dataclass(frozen=True)
class Run:
    """A run of text on one line, with its box (PDF points, origin bottom left)."""

    left: float
    bottom: float
    right: float
    top: float
    text: str


def _runs(textpage: Any) -> list[Run]:
    runs = []
    for index in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(index)
        text = textpage.get_text_bounded(left, bottom, right, top).strip()
        if text:
            runs.append(Run(left, bottom, right, top, text))
    return runs


def column_gap(runs: list[Run], width: float) -> float | None:
    """The x of an empty vertical band between two columns of narrow runs, if the page has one."""
    narrow = [r for r in runs if r.right - r.left < width * 0.45]
    if len(narrow) < 2 * MIN_RUNS_PER_COLUMN:
        return None
    covered = [False] * (int(width) + 1)
    for run in narrow:
        for x in range(max(0, int(run.left)), min(int(width), int(run.right)) + 1):
            covered[x] = True
    best: tuple[int, int] | None = None
    start = None
    for x in range(int(width * 0.25), int(width * 0.75) + 1):
        if not covered[x] and start is None:
            start = x
        if (covered[x] or x == int(width * 0.75)) and start is not None:
            if best is None or x - start > best[1] - best[0]:
                best = (start, x)
            start = None
    if best is None or best[1] - best[0] < width * MIN_GAP:
        return None
    gap = (best[0] + best[1]) / 2
    for side in ([r for r in narrow if r.right <= gap], [r for r in narrow if r.left >= gap]):
        widths = sorted(r.right - r.left for r in side)
        if len(side) < MIN_RUNS_PER_COLUMN or widths[len(widths) // 2] < width * MIN_COLUMN_WIDTH:
            return None
    return gap


def _lines(runs: list[Run]) -> list[str]:
    """Runs top to bottom, those on the same line joined left to right."""
    ordered = sorted(runs, key=lambda r: (-round(r.top), r.left))
    lines: list[list[Run]] = []
    for run in ordered:
        if lines and abs(lines[-1][0].top - run.top) < (run.top - run.bottom) * 0.5:
            lines[-1].append(run)
        else:
            lines.append([run])
    return [" ".join(r.text for r in sorted(line, key=lambda r: r.left)) for line in lines]


def reading_order_text(textpage: Any, width: float) -> str | None:
    """The page's text in column reading order, or None when the page is not laid out in columns."""
    runs = _runs(textpage)
    gap = column_gap(runs, width)
    if gap is None:
        return None
    out: list[str] = []
    band: list[Run] = []

    def flush() -> None:
        out.extend(_lines([r for r in band if r.right <= gap]))
        out.extend(_lines([r for r in band if r.right > gap]))
        band.clear()

    for run in sorted(runs, key=lambda r: -r.top):
        if run.left < gap < run.right:  # full width: ends the band of columns above it
            flush()
            out.append(run.text)
        else:
            band.append(run)
    flush()
    return "\n".join(out)
