"""The question sets measure what they claim: each is licensed, and each answerable question's key facts stand on
the page it names (a key that no page holds would count every quote wrong, and the figures with it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fieldmind.evaluation import load_items

from conftest import ROOT

SETS = sorted(p for p in (ROOT / "tests" / "data").iterdir() if (p / "qa.jsonl").is_file())


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_a_question_set_is_licensed_and_its_keys_stand_on_the_pages_it_names(folder: Path) -> None:
    import pypdfium2 as pdfium

    assert (folder / "LICENSE.txt").is_file(), f"{folder.name}: no LICENSE.txt"
    items = load_items(folder / "qa.jsonl")
    assert len({item.id for item in items}) == len(items) and any(not item.answerable for item in items)
    pages: dict[tuple[str, int], str] = {}
    for item in items:
        if not item.answerable:
            assert not item.key, item.id
            continue
        assert item.key and item.doc and (folder / item.doc).is_file(), item.id
        if item.page is None or not item.doc.endswith(".pdf"):
            continue
        where = (item.doc, item.page)
        if where not in pages:
            pdf = pdfium.PdfDocument(str(folder / item.doc))
            pages[where] = _squashed(pdf[item.page - 1].get_textpage().get_text_range())
            pdf.close()
        missing = [k for k in item.key if _squashed(k) not in pages[where]]
        assert not missing, f"{folder.name} {item.id}: {missing} not on page {item.page} of {item.doc}"
