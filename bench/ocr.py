"""OCR: which engine, how well, how fast. Prints JSON.

  .venv/bin/python bench/ocr.py            engines compared, retrieval on a scan, ingest of a 50-page scan
  .venv/bin/python bench/ocr.py --ingest   only the 50-page ingest (what `fieldmind bench` reports)

Scans are made from real manuals (pages rendered to grey pictures at 200 dpi, no text layer), so each page's
own text layer is the reference: character error rate = Levenshtein distance over the reference's length,
whitespace collapsed. RapidOCR is measured when installed (`pip install -e .[ocr-compare]`).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "knowledge" / "demo" / "gx7500-generator-manual.pdf"
AMC = ROOT / "tests" / "data" / "shared-set" / "auto-multiple-choice.en.pdf"
SAMPLE = [(DEMO, list(range(1, 11))), (AMC, [12, 30, 55, 70, 90])]
DPI = 200


def _render(path: Path, page: int) -> tuple[Any, str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    handle = pdf[page - 1]
    text = handle.get_textpage().get_text_range()
    image = handle.render(scale=DPI / 72, grayscale=True).to_pil().copy()
    pdf.close()
    return image, text


def _cer(reference: str, hypothesis: str) -> float:
    from rapidfuzz.distance import Levenshtein

    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def engines() -> dict[str, Any]:
    """Each engine on the same pages: character error rate and seconds a page (2 cores)."""
    from fieldmind.knowledge.ocr import Recogniser

    recognisers: dict[str, Any] = {"tesseract": lambda image: Recogniser().recognise(image).text}
    try:
        from rapidocr_onnxruntime import RapidOCR

        rapid = RapidOCR()
        recognisers["rapidocr"] = lambda image: "\n".join(r[1] for r in (rapid(image)[0] or []))
    except ImportError:
        pass
    pages = [(path, n, *_render(path, n)) for path, numbers in SAMPLE for n in numbers]
    out: dict[str, Any] = {}
    for name, recognise in recognisers.items():
        rates, seconds = [], []
        for _path, _n, image, reference in pages:
            start = time.perf_counter()
            found = recognise(image)
            seconds.append(time.perf_counter() - start)
            rates.append(_cer(reference, found))
        out[name] = {
            "cer_median": round(statistics.median(rates), 4),
            "cer_max": round(max(rates), 4),
            "s_per_page_median": round(statistics.median(seconds), 2),
        }
    return {"pages": len(pages), "dpi": DPI, "engines": out}


def retrieval(work: Path) -> dict[str, Any]:
    """The demo manual's questions over its scan and over its text layer: recall@5 of the right page."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fieldmind.knowledge.embedder import Embedder
    from fieldmind.knowledge.index import KnowledgeBase

    from helpers import make_scan

    questions = [json.loads(line) for line in (ROOT / "tests" / "data" / "demo" / "qa.jsonl").open()]
    questions = [q for q in questions if q.get("page")]
    embedder = Embedder()
    scan = make_scan(DEMO, work / "demo-scan.pdf")
    result = {}
    for label, path in (("text_layer", DEMO), ("scan", scan)):
        kb = KnowledgeBase(work / f"index-{label}", embedder=embedder)
        kb.ingest([path])
        hits = sum(any(p.page == q["page"] for p in kb.search(q["question"], k=5)) for q in questions)
        result[f"recall_at_5_{label}"] = round(hits / len(questions), 2)
        kb.close()
    return result | {"questions": len(questions)}


def scanned_ingest(work: Path, pages: int = 50) -> dict[str, Any]:
    """Ingest of a 50-page scan (pages of the AMC manual): OCR, chunking, embedding and storing, end to end."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fieldmind.knowledge.embedder import Embedder
    from fieldmind.knowledge.index import KnowledgeBase

    from helpers import make_scan

    scan = make_scan(AMC, work / "scan-50.pdf", pages=list(range(1, pages + 1)))
    embedder = Embedder()
    embedder.load()
    kb = KnowledgeBase(work / "index-scan-50", embedder=embedder)
    start = time.perf_counter()
    report = kb.ingest([scan])
    seconds = time.perf_counter() - start
    [doc] = kb.documents()
    kb.close()
    return {
        "pages": pages,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / seconds, 3),
        "ocr_pages": doc.ocr_pages,
        "passages": report.chunks,
        "method": "KnowledgeBase.ingest of an image-only PDF of AMC pages 1-50 at 200 dpi (OCR + embed + store)",
    }


def run(only_ingest: bool = False) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "app"))
    with tempfile.TemporaryDirectory() as tmp:
        figures: dict[str, Any] = {}
        if not only_ingest:
            figures["engines"] = engines()
            print(json.dumps(figures["engines"]), file=sys.stderr, flush=True)  # each part as it is measured
            figures["retrieval"] = retrieval(Path(tmp))
            print(json.dumps(figures["retrieval"]), file=sys.stderr, flush=True)
        figures["scanned_ingest"] = scanned_ingest(Path(tmp))
    return figures


if __name__ == "__main__":
    print(json.dumps(run(only_ingest="--ingest" in sys.argv), indent=2))
