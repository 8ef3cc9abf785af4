"""Reading the scanned pages of a PDF: render each page that has no text layer, recognise it, report progress.

Runs inside the ingest worker: it checks `cancelled` between pages (a stopped ingest ends within a page's
time) and the recogniser caches each finished page by file hash, so the next ingest resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fieldmind.errors import FieldmindError, InputError
from fieldmind.knowledge.ocr import OcrPage, PageProgress, Recogniser, render_scale

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument

WORKERS = 2
"""Pages recognised at once: Tesseract runs single-threaded (see ocr.run_tesseract), one page per core."""
MIN_PICTURE_PX = 120
"""Narrower pictures are icons and bullets, not placards."""
MAX_PICTURE_PIXELS = 40_000_000
"""A picture larger than this is skipped (Pillow would refuse it as a decompression bomb a little further)."""
PICTURE_LABEL = "Picture (read by OCR):"
"""Put before the words of an embedded picture, so a reader knows where they came from."""


class IngestCancelledError(FieldmindError):
    """The user stopped the ingest while a document's scanned pages were being read."""


@dataclass
class ScanReader:
    """What the PDF parser needs to read scanned pages of one file."""

    recogniser: Recogniser
    file_key: str
    """The file's sha256: cached pages are found by it, whatever the file is called."""
    progress: PageProgress | None = None
    cancelled: Callable[[], bool] = lambda: False

    def read(self, pdf: PdfDocument, numbers: list[int], where: str) -> tuple[dict[int, OcrPage], list[str]]:
        """OCR the given 1-based pages of an open pypdfium2 document: (pages read, one warning per page
        that could not be read, naming it). Pages are rendered one by one (PDFium is not thread-safe) and
        recognised two at a time, one per core; they are reported, and stopped between, in page order."""
        from concurrent.futures import Future, ThreadPoolExecutor

        pages: dict[int, OcrPage] = {}
        warnings: list[str] = []
        todo = []
        for number in numbers:  # each cached page read once
            cached = self.recogniser.cached(self._key(number))
            if cached is None:
                todo.append(number)
            else:
                pages[number] = cached
        done = len(numbers) - len(todo)
        started = time.perf_counter()
        recognised = 0
        pending: list[tuple[int, Future[OcrPage]]] = []

        def finish(number: int, future: Future[OcrPage]) -> None:
            nonlocal recognised
            try:
                pages[number] = future.result()
            except InputError as exc:
                warnings.append(f"page {number}: {exc.reason}")
            except Exception as exc:  # a damaged image stream on one page: that page only
                warnings.append(f"page {number}: cannot be read as a scan ({type(exc).__name__}: {str(exc)[:120]})")
            recognised += 1
            if self.progress is not None:
                per_page = (time.perf_counter() - started) / recognised
                self.progress(done + recognised, len(numbers), per_page)

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            try:
                for number in todo:
                    if self.cancelled():
                        raise IngestCancelledError(
                            f"{where}: stopped after {done + recognised} of {len(numbers)} pages"
                        )
                    try:
                        image = self._render(pdf, number, where)
                    except Exception as exc:
                        failed: Future[OcrPage] = Future()
                        failed.set_exception(exc)
                        pending.append((number, failed))
                    else:
                        pending.append((number, pool.submit(self.recogniser.recognise, image, self._key(number))))
                    while len(pending) >= WORKERS:
                        finish(*pending.pop(0))
                while pending:
                    finish(*pending.pop(0))
            except IngestCancelledError:
                for _number, future in pending:
                    future.cancel()
                raise
        return pages, warnings

    def read_picture(self, data: bytes, where: str) -> str | None:
        """The words of a picture embedded in a document (a photographed placard), or None when it holds
        no readable text (a photo, a logo): small pictures, few words or low confidence are left out."""
        import hashlib
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width < MIN_PICTURE_PX or opened.height < MIN_PICTURE_PX // 3:
                    return None
                if opened.width * opened.height > MAX_PICTURE_PIXELS:
                    return None
                image = opened.convert("L")
        except Exception:  # not a picture Pillow reads (EMF, damaged): nothing to recognise
            return None
        if self.cancelled():
            raise IngestCancelledError(f"{where}: stopped while reading its pictures")
        page = self.recogniser.recognise(image, "img-" + hashlib.sha256(data).hexdigest())
        if len(page.words) < 3 or page.confidence < 0.6:
            return None
        return page.text

    def _key(self, number: int) -> str:
        return f"{self.file_key}-p{number}"

    def _render(self, pdf: PdfDocument, number: int, where: str) -> Any:
        page = pdf[number - 1]
        try:
            width, height = page.get_size()
            scale = render_scale(width, height, f"{where}, page {number}")
            bitmap = page.render(scale=scale, grayscale=True)
            image = bitmap.to_pil().copy()  # PIL shares a grey bitmap's memory: copy it before closing
            bitmap.close()
        finally:
            page.close()
        return image
