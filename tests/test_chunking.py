"""Cutting text into passages: page-true, sized, procedures kept whole, neighbours overlapping."""

from __future__ import annotations

from fieldmind.knowledge.chunking import chunk_segments
from fieldmind.knowledge.parsers.model import Segment


def test_a_passage_never_crosses_a_page() -> None:
    segments = [Segment("alpha " * 300, 1, ("A",)), Segment("beta " * 300, 2, ("A",))]
    chunks = chunk_segments(segments, words=100, overlap=10)
    assert {c.page for c in chunks} == {1, 2}
    assert all(("alpha" in c.text) != ("beta" in c.text) for c in chunks)


def test_passages_stay_near_the_target_size() -> None:
    text = "\n".join(f"Sentence number {i} explains one more detail of the pump." for i in range(200))
    chunks = chunk_segments([Segment(text, 3, ())], words=120, overlap=20)
    assert len(chunks) > 5
    assert all(len(c.text.split()) <= 120 for c in chunks)


def test_neighbouring_passages_overlap() -> None:
    lines = [f"Line {i} of the procedure text here." for i in range(100)]
    chunks = chunk_segments([Segment("\n".join(lines), 1, ())], words=60, overlap=15)
    first, second = chunks[0].text.splitlines(), chunks[1].text.splitlines()
    assert first[-1] in second


def test_a_numbered_procedure_stays_whole_when_it_fits() -> None:
    intro = "Intro paragraph about the oil. " * 20
    steps = "\n".join(f"{n}. Do step {n} carefully with the wrench." for n in range(1, 9))
    chunks = chunk_segments([Segment(intro + "\n\n" + steps, 6, ("5.1 Oil",))], words=120, overlap=10)
    holding = [c for c in chunks if "1. Do step 1" in c.text]
    assert holding and "8. Do step 8" in holding[0].text


def test_heading_path_becomes_the_section_and_a_heading_alone_is_merged() -> None:
    segments = [
        Segment("5 Service\n", 6, ("5 Service",)),
        Segment("5.1 Oil\nDrain the oil. " * 10, 6, ("5 Service", "5.1 Oil")),
    ]
    chunks = chunk_segments(segments, words=200, overlap=20)
    assert len(chunks) == 1
    assert chunks[0].section == "5 Service > 5.1 Oil"
    assert chunks[0].text.startswith("5 Service")
    assert chunks[0].embedding_text().startswith("5 Service > 5.1 Oil\n")
