"""Fieldmind's own reader: a small cross-encoder, trained on this project's machines, that reads a question
together with a stretch of a page and says how well the stretch answers it.

Similarity and keyword scores cannot tell the answering line from the sentence beside it, its heading or the
introduction to the steps; a model that reads both at once can. No registry package carries one, so
`models/reader/` makes it: questions written by the default model for lines of manual pages no question set
asks about, the stretches Fieldmind weighs for each labelled, all-MiniLM-L6-v2 trained on them as a
cross-encoder, exported to ONNX and quantised to int8. It ships with the app as one file whose sha256 the
catalogue pins (`[reader]` in `models/catalog.toml`): a damaged or missing file is refused with a clear error
naming it, and answers fall back to the scores that do without it (`fieldmind doctor` says so).
"""

from __future__ import annotations

import hashlib
import os
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldmind.errors import FieldmindError
from fieldmind.locations import shipped

MAX_TOKENS = 128
"""Question and stretch together, as trained (`models/reader/train.py`)."""
BATCH = 16


class ReaderError(FieldmindError):
    """The reader's file is missing, damaged or unreadable: answers use the scores that do without it."""


@dataclass(frozen=True)
class ReaderFile:
    """The shipped reader: its file, its tokenizer, and the sha256 the catalogue pins."""

    path: Path
    tokenizer: Path
    sha256: str
    size_bytes: int


def shipped_reader_file(catalog_file: Path | None = None) -> ReaderFile:
    """Where the shipped reader is and what it must hash to, from the catalogue."""
    catalog = catalog_file or shipped("models/catalog.toml")
    try:
        entry = tomllib.loads(catalog.read_text(encoding="utf-8"))["reader"]
        folder = shipped(f"models/{Path(entry['file']).parent}")
        path = folder / Path(entry["file"]).name
        return ReaderFile(path, folder / "tokenizer.json", str(entry["sha256"]), int(entry["size_bytes"]))
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ReaderError(f"{catalog}: no [reader] entry to check the reader against ({exc})") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Reader:
    """Scores (question, stretch) pairs: a logit, higher when the stretch answers. Loaded on first use."""

    def __init__(self, file: ReaderFile, threads: int | None = None) -> None:
        self.file = file
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self.error: str | None = None
        """Why the reader could not be used (then answers do without it), once a load was tried."""
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> None:
        """Check the file against its pinned sha256 and open it; raises `ReaderError` naming the file."""
        with self._lock:
            if self._session is not None:
                return
            try:
                self._session, self._tokenizer = self._open()
            except ReaderError as exc:
                self.error = str(exc)
                raise

    def _open(self) -> tuple[Any, Any]:
        path = self.file.path
        if not path.is_file():
            raise ReaderError(f"{path}: the reader model is missing; reinstall Fieldmind to restore it")
        try:
            size, digest = path.stat().st_size, _sha256(path)
        except OSError as exc:
            raise ReaderError(f"{path}: cannot read the reader model ({exc.strerror or exc})") from exc
        if size != self.file.size_bytes or digest != self.file.sha256:
            raise ReaderError(
                f"{path}: the reader model is damaged (sha256 {digest[:12]}…, {size} bytes; expected "
                f"{self.file.sha256[:12]}…, {self.file.size_bytes} bytes); reinstall Fieldmind to restore it"
            )
        from tokenizers import Tokenizer

        from fieldmind.knowledge.embedder import quiet_onnxruntime

        onnxruntime = quiet_onnxruntime()
        try:
            tokenizer = Tokenizer.from_file(str(self.file.tokenizer))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads or os.cpu_count() or 1
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime and tokenizers raise their own types for a bad file
            raise ReaderError(f"{path}: the reader model does not load ({exc})") from exc
        tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return session, tokenizer

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """How well each text answers the question (logits; comparable across questions)."""
        import numpy as np

        if not texts:
            return []
        self.load()
        out: list[float] = []
        for start in range(0, len(texts), BATCH):
            encodings = self._tokenizer.encode_batch([(question, t) for t in texts[start : start + BATCH]])
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
            }
            logits = self._session.run(None, feeds)[0]
            out.extend(float(x) for x in np.asarray(logits).reshape(-1))
        return out


def shipped_reader(threads: int | None = None) -> Reader | None:
    """The reader that ships with the app, or None (with no catalogue entry: a build without one)."""
    try:
        return Reader(shipped_reader_file(), threads)
    except ReaderError:
        return None
