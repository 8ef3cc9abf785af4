"""Reading scanned pages offline: Tesseract (Debian's `tesseract-ocr` 5.3, its command line) on the page as
PDFium renders it.

Chosen by measurement (`bench/ocr.py`; figures in docs/scans.md): on pages of real manuals rendered at 200 dpi,
Tesseract's character error rate against the pages' own text layer was 0.7-4.8 %, RapidOCR's (PP-OCRv4, the
ONNX models in its wheel) 3.7-17 %: it runs English words together ("Placeacontainerof atleast5litres"),
which defeats keyword search. Results are cached per file hash and page, so an interrupted ingest resumes
without recognising a finished page again.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldmind.errors import InputError
from fieldmind.files import write_atomic
from fieldmind.locations import shipped

if TYPE_CHECKING:
    from PIL.Image import Image

DPI = 200
"""Render resolution: Tesseract's error rate rose below 150 dpi on 9-10 pt manual text, and time with area."""
MAX_PIXELS = 60_000_000
"""A page that would render larger than this (an A0 drawing at 200 dpi is 52 Mpx) is rendered smaller; one
that cannot fit even at 50 dpi is refused as damaged or hostile rather than eating the memory."""
MIN_TEXT_CHARS = 20
"""A PDF page with fewer characters in its text layer than this is treated as a scan and recognised."""
CACHE_VERSION = 1


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: tuple[float, float, float, float]
    """Left, top, right, bottom as fractions of the page's width and height (any zoom draws it)."""
    confidence: float
    """Tesseract's confidence, 0-1."""


@dataclass
class OcrPage:
    """One page as recognised: its text in reading order (lines, blank lines between blocks) and words."""

    text: str
    words: list[OcrWord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def confidence(self) -> float:
        """Mean word confidence, weighted by word length (a misread long word counts for more)."""
        total = sum(len(w.text) for w in self.words)
        return sum(w.confidence * len(w.text) for w in self.words) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"version": CACHE_VERSION, "text": self.text, "seconds": self.seconds,
                "words": [asdict(w) for w in self.words]}  # fmt: skip

    @staticmethod
    def from_json(data: dict[str, Any]) -> OcrPage:
        words = [OcrWord(w["text"], tuple(w["box"]), float(w["confidence"])) for w in data["words"]]
        return OcrPage(str(data["text"]), words, float(data.get("seconds", 0.0)))


def tesseract_command() -> str | None:
    """The Tesseract program: the one bundled with a self-contained build, else the system's."""
    bundled = shipped("ocr/tesseract")
    return str(bundled) if bundled.is_file() else shutil.which("tesseract")


def tesseract_env(command: str) -> dict[str, str]:
    """The child's environment: one OpenMP thread; for the bundled program, its data and the bundle's own
    copies of the libraries it links. This process's environment is left alone (llama.cpp reads OpenMP's)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    bundled = shipped("ocr/tesseract")
    if Path(command) == bundled:
        env["TESSDATA_PREFIX"] = str(bundled.parent / "tessdata")
        libraries = getattr(sys, "_MEIPASS", None)
        if libraries:
            env["LD_LIBRARY_PATH"] = ":".join(filter(None, [libraries, os.environ.get("LD_LIBRARY_PATH")]))
    return env


PageProgress = Callable[[int, int, float], None]
"""(pages recognised, pages to recognise, seconds per page so far): for progress bars and time left."""


class Recogniser:
    """Recognises rendered pages, one at a time (Tesseract already uses both cores on one page)."""

    def __init__(self, cache_dir: Path | None = None, language: str = "eng") -> None:
        self.cache_dir = cache_dir
        self.language = language

    @staticmethod
    def available() -> bool:
        return tesseract_command() is not None

    def cached(self, key: str) -> OcrPage | None:
        path = self._cache_path(key)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION:
                return OcrPage.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / f"{key}.json" if self.cache_dir is not None else None

    def recognise(self, image: Image, key: str | None = None) -> OcrPage:
        """Recognise a PIL image; with a `key` (file hash and page) the result is kept for next time."""
        if key is not None and (hit := self.cached(key)) is not None:
            return hit
        command = tesseract_command()
        if command is None:
            raise RuntimeError("Tesseract is not installed")
        started = time.perf_counter()
        data = run_tesseract(command, image, self.language)
        page = _page_from_data(data, image.width, image.height)
        page.seconds = round(time.perf_counter() - started, 3)
        if key is not None and (path := self._cache_path(key)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(page.to_json()))
        return page


def run_tesseract(command: str, image: Image, language: str) -> dict[str, list[Any]]:
    """Tesseract's word table (TSV) for a picture, as columns.

    Run with one OpenMP thread: measured here, its default OpenMP threads made a page take 11.7 s instead of
    1.9 s (the threads spin against each other on 2 cores); pages are read two at a time instead (scans.py).
    The environment is the child's own: llama.cpp in this process keeps its OpenMP threads.
    """
    import csv
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fieldmind-ocr-") as folder:
        picture = Path(folder) / "page.png"
        image.save(picture)
        env = tesseract_env(command)
        done = subprocess.run(
            [command, str(picture), "stdout", "-l", language, "--psm", "3", "tsv"],
            capture_output=True,
            env=env,
            timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:300]}")
    rows = list(csv.DictReader(done.stdout.decode("utf-8", errors="replace").splitlines(), delimiter="\t",
                               quoting=csv.QUOTE_NONE))  # fmt: skip
    columns: dict[str, list[Any]] = {k: [] for k in ("text", "conf", "block_num", "par_num", "line_num",
                                                      "left", "top", "width", "height")}  # fmt: skip
    for row in rows:
        for key in columns:
            value = row.get(key) or ""
            columns[key].append(value if key == "text" else float(value or -1) if key == "conf" else int(value or 0))
    return columns


def _page_from_data(data: dict[str, list[Any]], width: int, height: int) -> OcrPage:
    """Tesseract's word table as text: words joined by spaces, lines by newlines, blocks by a blank line."""
    words: list[OcrWord] = []
    lines: list[str] = []
    current: list[str] = []
    last_line: tuple[int, int, int] | None = None
    last_block = None
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        line = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        if line != last_line:
            if current:
                lines.append(" ".join(current))
            if last_block is not None and line[0] != last_block:
                lines.append("")
            current = []
            last_line, last_block = line, line[0]
        current.append(text)
        left, top = data["left"][i], data["top"][i]
        box = (left / width, top / height, (left + data["width"][i]) / width, (top + data["height"][i]) / height)
        words.append(OcrWord(text, box, conf / 100.0))
    if current:
        lines.append(" ".join(current))
    return OcrPage("\n".join(lines).strip(), words)


def render_scale(width_pt: float, height_pt: float, where: str, dpi: int = DPI) -> float:
    """The render scale for a page of this size: `dpi`, less for a page too large, refused when absurd."""
    scale = dpi / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > MAX_PIXELS:
        scale *= (MAX_PIXELS / pixels) ** 0.5
    if scale < 50 / 72:
        raise InputError(
            where,
            f"the page is {width_pt / 72:.0f} x {height_pt / 72:.0f} inches; too large to read as a scan "
            "(damaged or hostile); the other pages were read",
        )
    return scale
