"""Reading documents: page numbers and headings kept, every bad file refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldmind.errors import InputError
from fieldmind.knowledge.parsers import parse

from conftest import AMC_PDF, DEMO_MD, DEMO_PDF, LIVE_PDF
from helpers import corrupt_pdf, junk, make_pdf


def _page_text(doc, page: int) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(s.text for s in doc.segments if s.page == page)


def test_pdf_keeps_page_numbers_and_outline_headings() -> None:
    doc = parse(AMC_PDF)
    assert doc.kind == "pdf" and doc.pages == 101
    assert "CompleteMulti: If 1 (default)" in _page_text(doc, 13)
    assert "limited to 4,095" in _page_text(doc, 11)
    sections = {s.headings for s in doc.segments if s.page == 11}
    assert ("3 Usage notes", "3.1 Numerical limitations") in sections


def test_running_headers_and_contents_leaders_are_dropped() -> None:
    doc = parse(AMC_PDF)
    text = "\n".join(s.text for s in doc.segments)
    assert "Auto Multiple Choice 4 / 92" not in text
    assert ". . . . . . . ." not in text


def test_chapter_running_headers_are_dropped_and_lines_like_them_in_the_text_are_kept(tmp_path: Path) -> None:
    """A header that changes with the chapter ("Chapter 2: Hydraulics 14") is on too few pages to recur on most
    of them; at a page's edge on three or more it is a running header, and in the body it is text."""

    words = [
        "bleed valve",
        "hose",
        "jar",
        "lever",
        "reservoir",
        "seal",
        "piston",
        "filter",
        "cap",
        "pump",
        "line",
        "clip",
    ]

    def body(n: int) -> str:
        first, second, third, fourth = (words[(n + k) % len(words)] for k in range(4))
        return (
            f"Open the {first} a quarter turn.\nCheck the {second} for leaks.\n"
            f"See Chapter 2: Hydraulics {n} for the torque.\nClean the {third}.\nRefit the {fourth}."
        )

    pages = [f"Chapter 1: Engine {n}\n{body(n)}" for n in (3, 4)]
    pages += [f"Chapter 2: Hydraulics {n}\n{body(n)}" for n in range(14, 17)]
    pages += [f"Chapter 3: Electrics {n}\n{body(n)}" for n in range(20, 23)]
    pages += [f"Chapter 4: Cab {n}\n{body(n)}" for n in range(30, 33)]  # each chapter on under 40% of pages
    doc = parse(make_pdf(tmp_path / "m.pdf", pages))
    lines = {line.strip() for s in doc.segments for line in s.text.splitlines()}
    assert not {f"Chapter 2: Hydraulics {n}" for n in range(14, 17)} & lines  # the running header is gone
    assert not {f"Chapter 4: Cab {n}" for n in range(30, 33)} & lines
    assert "See Chapter 2: Hydraulics 15 for the torque." in lines  # the same words in the body are kept
    assert "Chapter 1: Engine 3" in lines  # on two pages only: not taken for a running header
    assert "Open the lever a quarter turn." in lines  # a line at the edge that is not a header is kept


def test_pdf_without_outline_gets_numbered_headings(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "m.pdf",
        [
            "1 Intro\nHello there, this is the introduction text.",
            "2 Hydraulics\n2.3 Bleeding the system\nOpen the bleed valve.",
        ],
    )
    doc = parse(pdf)
    assert {s.page for s in doc.segments} == {1, 2}
    assert doc.segments[0].headings == ("1 Intro",)
    assert doc.segments[-1].headings == ("2 Hydraulics", "2.3 Bleeding the system")


def test_markdown_headings_make_a_path() -> None:
    doc = parse(DEMO_MD)
    oil = [s for s in doc.segments if "every 250 operating hours" in s.text]
    assert oil and oil[0].page is None
    assert oil[0].headings[-2:] == ("5 Service procedures", "5.1 Changing the engine oil and filter")


def test_demo_pdf_is_made_from_the_markdown() -> None:
    doc = parse(DEMO_PDF)
    pages = [s.page for s in doc.segments if "every 250 operating hours" in s.text]
    assert pages == [6]


def test_scanned_pages_are_reported_not_silently_empty() -> None:
    doc = parse(LIVE_PDF)
    assert doc.warnings and "scanned, no text" in doc.warnings[0]
    assert "42 of 64 pages" in doc.warnings[0]


def test_pdf_with_no_text_layer_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="scanned, no text"):
        parse(make_pdf(tmp_path / "scan.pdf", ["", ""]))


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("corrupt.pdf", corrupt_pdf, "not a readable PDF"),
        ("junk.pdf", junk, "not a PDF"),
        ("junk.txt", junk, "binary data"),
        ("empty.pdf", lambda p: (p.write_bytes(b""), p)[1], "empty file"),
        (
            "latin1.txt",
            lambda p: (p.write_bytes("Drehmoment: 35 N·m, Öl".encode("latin-1")), p)[1],
            "not UTF-8",
        ),
        ("photo.jpg", junk, "unsupported file type"),
        ("encrypted.pdf", lambda p: make_pdf(p, ["secret text"], user_password="pw"), "encrypted"),
    ],
)
def test_bad_files_get_a_clear_reason_naming_the_file(tmp_path: Path, name, make, reason) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    make(path)
    with pytest.raises(InputError) as caught:
        parse(path)
    assert reason in caught.value.reason
    assert str(path) in str(caught.value)


def test_files_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 100_000)
    with pytest.raises(InputError, match="too large"):
        parse(path, max_bytes=100_000)


def test_tables_whose_cells_wrap_are_read_as_rows_under_their_header() -> None:
    """The demo's fault-code and troubleshooting tables centre cells that wrap over two or three lines: they were
    read as running text ("E07 Fuel restriction or air in fuel" / "Replace the fuel filter" on lines apart)."""
    pages = {s.page: s.text for s in parse(DEMO_PDF).segments}
    faults, trouble = pages[8].splitlines(), pages[9].splitlines()
    assert "Code | Meaning | Action" in faults
    e07 = "E07 | Fuel restriction or air in fuel | Replace the fuel filter (NW-FF-0875) and bleed the system."
    assert e07 in faults
    assert "E04* | Overspeed (above 1,750 rpm) | Check the governor linkage; contact service." in faults
    assert sum(line.startswith("E") and line.count(" | ") == 2 for line in faults) == 10
    assert "Symptom | Likely cause | Remedy" in trouble
    assert (
        "Engine cranks but does not start | No fuel, air in fuel, or preheat too short | "
        "Refuel, bleed the system (5.3), preheat 10 s"
    ) in trouble
    assert any(line.startswith("To reset the service counter") and " | " not in line for line in faults)


def test_bullet_lists_and_numbered_headings_are_not_taken_for_tables() -> None:
    """Bullets with wrapped items and "3.7 Free software" over them line up like a two-column table; they stay text."""
    from conftest import DATA

    text = "\n".join(s.text for s in parse(DATA / "nut" / "nut-user-manual.pdf").segments if s.page == 22)
    assert "3.7 | Free software" not in text and "• |" not in text


def test_capitals_standing_alone_are_sections_of_a_plain_text_manual(tmp_path: Path) -> None:
    """ALL-CAPS headings of a .txt were not sections: the citation showed the file name alone."""
    manual = tmp_path / "pump.txt"
    manual.write_text(
        "HP-20 PUMP MANUAL\n\nRead this first. The unit weighs 80 kg.\n\n"
        "MAINTENANCE\n\nReplace the return filter element every 500 hours.\n\n"
        "OIL CHANGE INTERVALS\nChange the oil every 2,000 hours.\nUSE ISO VG 46 OIL ONLY AND NOTHING ELSE.\n"
    )
    segments = parse(manual).segments
    where = {s.headings[-1] if s.headings else None: s.text for s in segments}
    assert "every 500 hours" in where["MAINTENANCE"]
    assert "every 2,000 hours" in where["OIL CHANGE INTERVALS"]
    assert "USE ISO VG 46" not in where  # a shouted sentence inside a section is not a heading
