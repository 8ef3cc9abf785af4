"""Heavy libraries stay deferred: the screen paints before torch, llama.cpp, Chroma, ONNX Runtime or numpy load."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("llama_cpp", "torch", "sentence_transformers", "chromadb", "transformers", "onnxruntime", "numpy")


def _loaded_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import fieldmind",
        "import fieldmind.cli",
        "import fieldmind.services",
        "import fieldmind.assistant",
        "import fieldmind.knowledge.index",
        "import fieldmind.tui.app",
    ],
)
def test_heavy_libraries_are_not_imported_eagerly(statement: str) -> None:
    assert not _loaded_after(statement) & set(HEAVY)


@pytest.mark.parametrize(
    "statement",
    ["import fieldmind.knowledge.index", "import fieldmind.assistant", "import fieldmind.services"],
)
def test_the_core_never_imports_the_ui(statement: str) -> None:
    assert "textual" not in _loaded_after(statement)


def test_every_module_imports() -> None:
    """Type-only names must stay out of what runs at import (a type alias built from a TYPE_CHECKING import
    passed mypy and failed `import fieldmind.evaluation`)."""
    code = (
        "import importlib, pkgutil, fieldmind\n"
        "for m in pkgutil.walk_packages(fieldmind.__path__, 'fieldmind.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
