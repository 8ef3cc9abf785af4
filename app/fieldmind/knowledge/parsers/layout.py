"""Reading order for multi-column PDF pages, and table rows kept as rows.

PDFium returns text in content-stream order, which for a two-column page may be the right column first or
the columns interleaved. When a page's narrow text runs leave an empty vertical band, the page is read as
columns: full-width runs (titles, wide tables) split it into bands, and each band is read left column
top to bottom, then right. Pages without such a gap keep PDFium's order untouched.

PDFium joins the cells of a table row with single spaces ("Cylinder head bolts 38 N.m 2 stages"), which
loses where one cell ends. Where two or more consecutive lines are each made of separate runs with wide gaps
between them, the page is a table page: its lines are read from the runs and cells are joined with " | ", so
a row keeps its cells and the answer can show it under its header row.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypdfium2 import PdfTextPage

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


def _runs(textpage: PdfTextPage) -> list[Run]:
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


CELL_GAP = 1.2
"""A gap between runs on one line wider than this many line heights separates table cells, not words."""
ALIGN_POINTS = 3.0
MIN_TABLE_ROWS = 3
"""A header row and two rows at least."""


def _line_groups(runs: list[Run]) -> list[list[Run]]:
    """Runs grouped into lines, top to bottom, each line left to right."""
    ordered = sorted(runs, key=lambda r: (-round(r.top), r.left))
    lines: list[list[Run]] = []
    for run in ordered:
        if lines and abs(lines[-1][0].top - run.top) < max(run.top - run.bottom, 1.0) * 0.6:
            lines[-1].append(run)
        else:
            lines.append([run])
    return [sorted(line, key=lambda r: r.left) for line in lines]


def _cell_starts(line: list[Run]) -> list[float]:
    """Where each cell of a line starts: runs separated by a gap wider than CELL_GAP line heights."""
    height = max(max(r.top - r.bottom for r in line), 1.0)
    starts = [line[0].left]
    for a, b in pairwise(line):
        if b.left - a.right > CELL_GAP * height:
            starts.append(b.left)
    return starts


def _aligned(a: list[float], b: list[float]) -> bool:
    """Two lines of cells that share at least two column starts: rows of one table."""
    return len(a) > 1 and len(b) > 1 and sum(any(abs(x - y) <= ALIGN_POINTS for y in b) for x in a) >= 2


def _column_of(run: Run, columns: list[float]) -> int | None:
    """Which column a run is a cell line of: it starts at that column and does not reach into the next."""
    for index, start in enumerate(columns):
        ends = columns[index + 1] if index + 1 < len(columns) else None
        if abs(run.left - start) <= ALIGN_POINTS and (ends is None or run.right <= ends + ALIGN_POINTS):
            return index
    return None


def _wrapped_table(lines: list[list[Run]], header: int) -> tuple[list[str], int] | None:
    """A table whose cells wrap over several lines, starting with the header line `lines[header]`: its rows as
    " | "-joined text, and how many lines it took; None when the lines below do not make one.

    Such tables (fault codes, troubleshooting) centre each cell in its row, so a row is not a run of lines: the
    first column's lines anchor the rows, and each line of the other columns belongs to the nearest anchor.
    The body's columns are where its lines start; the header line has one label per column (often centred)."""
    body_end = header + 1
    lefts: dict[int, int] = {}
    while body_end < len(lines):
        for run in lines[body_end]:
            lefts[round(run.left)] = lefts.get(round(run.left), 0) + 1
        body_end += 1
    columns: list[float] = []
    for left in sorted(x for x, n in lefts.items() if n >= 2):
        if not columns or left - columns[-1] > ALIGN_POINTS:
            columns.append(float(left))
    labels = len(lines[header])
    if not 3 <= len(columns) <= 8 or labels != len(columns) or len(_cell_starts(lines[header])) != labels:
        return None  # two "columns" are a bullet or option list far more often than a table; labels stand apart
    if any(ch.isdigit() for run in lines[header] for ch in run.text):
        return None  # a header names its columns; a line with numbers is a row
    taken = header + 1
    while taken < len(lines) and all(_column_of(r, columns) is not None for r in lines[taken]):
        taken += 1
    body = lines[header + 1 : taken]
    anchors = [line[0] for line in body if _column_of(line[0], columns) == 0]
    continued = any(_column_of(line[0], columns) != 0 for line in body)
    if len(anchors) < 2 or not continued:
        return None  # rows of one line each: `table_text`'s plain rows read them
    # Cells set at the top of their row put every column on the anchor's line; centred cells do not.
    anchor_lines = [line for line in body if _column_of(line[0], columns) == 0]
    top_aligned = all(len(line) == len(columns) for line in anchor_lines)
    cells: list[list[list[str]]] = [[[] for _ in columns] for _ in anchors]
    for line in body:
        for run in line:
            column = _column_of(run, columns)
            if top_aligned:  # the last anchor at or above the line
                above = [i for i, a in enumerate(anchors) if a.top >= run.top - ALIGN_POINTS]
                row = above[-1] if above else 0
            else:  # the nearest anchor
                row = min(range(len(anchors)), key=lambda i: (abs(anchors[i].top - run.top), i))
            cells[row][column or 0].append(run.text)
    if len({a.text for a in anchors}) < len(anchors) or 3 * sum(all(row) for row in cells) < 2 * len(cells):
        return None  # bullets, or rows mostly missing cells: not a table
    rows = [" | ".join(r.text for r in lines[header])]
    rows += [" | ".join(" ".join(parts) for parts in row) for row in cells]
    return rows, taken - header


def table_text(textpage: PdfTextPage) -> str | None:
    """The page's text with table rows' cells joined by " | ", or None when the page has no table.

    A table is at least MIN_TABLE_ROWS consecutive lines of several cells whose columns line up, or a header
    line over rows whose cells wrap (`_wrapped_table`).
    """
    lines = _line_groups(_runs(textpage))
    wrapped = _wrapped_tables(lines)
    if wrapped is not None:
        return wrapped
    starts = [_cell_starts(line) for line in lines]
    linked = [_aligned(a, b) for a, b in pairwise(starts)]
    in_table = [False] * len(lines)
    run_start = 0
    for i in range(len(lines)):
        if i < len(linked) and linked[i]:
            continue
        first = run_start
        # A header row is often centred over its columns: above an aligned run, same number of cells.
        if first > 0 and len(starts[first - 1]) == len(starts[first]) > 1:
            first -= 1
        if i - run_start + 1 >= 2 and i - first + 1 >= MIN_TABLE_ROWS:
            for j in range(first, i + 1):
                in_table[j] = True
        run_start = i + 1
    if not any(in_table):
        return None
    out = []
    for line, table in zip(lines, in_table, strict=True):
        if not table:
            out.append(" ".join(r.text for r in line))
            continue
        height = max(max(r.top - r.bottom for r in line), 1.0)
        parts = [line[0].text]
        for a, b in pairwise(line):
            parts.append((" | " if b.left - a.right > CELL_GAP * height else " ") + b.text)
        out.append("".join(parts))
    return "\n".join(out)


def _wrapped_tables(lines: list[list[Run]]) -> str | None:
    """The page's text with every table of wrapped cells read as rows, or None when it has none."""
    out: list[str] = []
    found = False
    index = 0
    while index < len(lines):
        table = _wrapped_table(lines, index) if len(lines[index]) >= 2 else None
        if table is None:
            out.append(" ".join(r.text for r in lines[index]))
            index += 1
            continue
        rows, used = table
        out.extend(rows)
        index += used
        found = True
    return "\n".join(out) if found else None


def reading_order_text(textpage: PdfTextPage, width: float) -> str | None:
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
