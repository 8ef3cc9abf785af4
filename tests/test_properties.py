"""Property-based tests: the chunker never loses or moves text; parsers never crash on any bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldmind.errors import InputError
from fieldmind.knowledge.chunking import chunk_segments
from fieldmind.knowledge.parsers import parse
from fieldmind.knowledge.parsers.model import Segment

words = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x24F), min_size=1, max_size=12)
lines = st.lists(words, min_size=0, max_size=25).map(" ".join)
texts = st.lists(lines, min_size=1, max_size=30).map("\n".join)
segments = st.lists(
    st.builds(Segment, texts, st.one_of(st.none(), st.integers(1, 5)), st.just(("H",))),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(segments, st.integers(20, 200), st.integers(0, 15))
def test_chunks_keep_every_word_on_its_own_page(segs: list[Segment], size: int, overlap: int) -> None:
    chunks = chunk_segments(segs, words=size, overlap=overlap)
    for page in {s.page for s in segs}:
        given_words = [w for s in segs if s.page == page for w in s.text.split()]
        chunked = {w for c in chunks if c.page == page for w in c.text.split()}
        assert set(given_words) <= chunked
    pages = {s.page for s in segs}
    assert all(c.page in pages and c.text.strip() for c in chunks)
    assert all(len(c.text.split()) <= size + overlap for c in chunks)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([".pdf", ".txt", ".md", ".html", ".docx"]))
def test_parsers_raise_only_input_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"file{suffix}"
        path.write_bytes(data)
        try:
            doc = parse(path)
        except InputError as exc:
            assert str(path) in str(exc) and exc.reason
        else:
            assert all(s.text.strip() for s in doc.segments)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=10, max_size=4000))
def test_damaged_pdfs_are_refused_cleanly(tail: bytes) -> None:
    """Random bytes after a PDF header: a clear refusal naming the file (never another exception)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.pdf"
        path.write_bytes(b"%PDF-1.4\n" + tail)
        try:
            doc = parse(path)
        except InputError as exc:
            assert exc.path == str(path) and str(path) in str(exc)
            assert exc.reason and "\n" not in exc.reason  # one line, for the user
        else:  # PDFium can salvage some byte strings; then what comes out is real text
            assert doc.segments and all(s.text.strip() for s in doc.segments)


def test_a_document_source_label_reads_back_as_written() -> None:
    """`local`, `site:T`, `pack:N@V`: made and parsed in one place (it was built in one module, split in four)."""
    from fieldmind.sources import DocumentSource

    for source in (DocumentSource.parse("local"), DocumentSource.site("t1"), DocumentSource.pack("fleet-a", 7)):
        assert DocumentSource.parse(source.label) == source
    assert DocumentSource.pack("fleet-a", 7).label == "pack:fleet-a@7"
    assert DocumentSource.parse("pack:fleet-a@7").describe() == "pack fleet-a v7"
    assert DocumentSource.parse("site:t1").is_site and not DocumentSource.parse("local").is_pack
