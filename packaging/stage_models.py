"""Stage the default model and the ONNX embedder for the bundle: `python stage_models.py <dir>`.

Runs in the development install (packaging/setup.sh), which has the model packages and torch for the one-time
ONNX export; the bundle then carries the results and needs neither. Reuses what an earlier build staged.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fieldmind.knowledge.embedder import ONNX_NAME, bundled_model_dir, export_onnx
from fieldmind.llm.catalog import Catalog


def main(out: Path) -> None:
    catalog = Catalog(out)
    model = catalog.resolve(None)  # assembled from its packages on the first build; sha256-checked every time
    embedder = out / "embedder"
    embedder.mkdir(parents=True, exist_ok=True)
    if not (embedder / ONNX_NAME).exists():
        export_onnx(bundled_model_dir(), embedder / ONNX_NAME)
    shutil.copyfile(bundled_model_dir() / "tokenizer.json", embedder / "tokenizer.json")
    print(model.path)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
