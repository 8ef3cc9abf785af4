"""Every manual format: DOCX and HTML headings and tables, multi-column PDFs in reading order."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldmind.errors import InputError
from fieldmind.knowledge.chunking import chunk_segments
from fieldmind.knowledge.parsers import parse

from helpers import junk, make_two_column_pdf


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("HT-9 Pump manual", 0)
    document.add_heading("5 Hydraulics", 1)
    document.add_heading("5.3 Bleeding the system", 2)
    document.add_paragraph("Open the bleed valve NV-220 and pump until the oil runs clear.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Fastener", "Torque"), ("Drain plug", "35 N.m")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.save(str(path))
    return path


def test_docx_headings_make_a_path_and_tables_stay_rows(tmp_path: Path) -> None:
    doc = parse(_docx(tmp_path / "pump.docx"))
    body = next(s for s in doc.segments if "NV-220" in s.text)
    assert body.headings == ("HT-9 Pump manual", "5 Hydraulics", "5.3 Bleeding the system")
    assert "Drain plug | 35 N.m" in body.text.splitlines()
    assert body.page is None


def test_html_headings_lists_and_tables(tmp_path: Path) -> None:
    page = tmp_path / "codes.html"
    page.write_text(
        "<html><head><script>track()</script></head><body><h1>Pump</h1><h2>7 Fault codes</h2>"
        "<p>The controller shows a <b>code</b>.</p><ul><li>Stop the pump</li></ul>"
        "<table><tr><th>Code</th><th>Meaning</th></tr><tr><td>E07</td><td>Air in fuel</td></tr></table>"
        "</body></html>"
    )
    doc = parse(page)
    text = "\n".join(s.text for s in doc.segments)
    assert "track()" not in text
    assert "E07 | Air in fuel" in text and "- Stop the pump" in text
    assert doc.segments[-1].headings == ("Pump", "7 Fault codes")


def test_a_corrupt_docx_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a readable Word document"):
        parse(junk(tmp_path / "broken.docx"))


def test_two_column_pdf_is_read_column_by_column(tmp_path: Path) -> None:
    left = " ".join(f"Left sentence {i} explains how the oil is drained from the sump." for i in range(12))
    right = " ".join(f"Right sentence {i} gives the torque for each bolt on the head." for i in range(12))
    doc = parse(make_two_column_pdf(tmp_path / "bulletin.pdf", left, right))
    text = " ".join(" ".join(s.text for s in doc.segments).split())
    assert text.index("Left sentence 11") < text.index("Right sentence 0")
    assert "Left sentence 5 explains how the oil is drained from the sump." in text
    chunks = chunk_segments(doc.segments, words=60, overlap=10)
    assert not any("Left sentence" in c.text and "Right sentence" in c.text for c in chunks[:2])
