"""Shared fixtures: every test gets its own home; expensive things (models, embedder, indexes) are shared.

No test touches the real user's data: FIELDMIND_HOME points at a temporary directory for each test.
Model files are assembled once per session into one models dir (FIELDMIND_MODEL__DIR).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
EVAL = DATA / "shared-set"
"""The project's copy of the shared question set and its manuals (licences in its LICENSE.txt)."""
AMC_PDF = EVAL / "auto-multiple-choice.en.pdf"
LIVE_PDF = EVAL / "live-manual.portrait.en.a4.pdf"
APCUPSD = DATA / "apcupsd"
"""A held-out set: the apcupsd UPS manual (HTML) with the project's own questions."""
DEMO_PDF = ROOT / "knowledge" / "demo" / "gx7500-generator-manual.pdf"
DEMO_MD = ROOT / "knowledge" / "source" / "gx7500-generator-manual.md"
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
SMALL_MODEL = "gemma-3-270m"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FIELDMIND_HOME", str(home))
    monkeypatch.setenv("FIELDMIND_MODEL__DIR", str(models_dir))
    return home


@pytest.fixture(scope="session")
def embedder(models_dir: Path):  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.embedder import ONNX_NAME, Embedder

    shared = Embedder(onnx_path=models_dir / "embedder" / ONNX_NAME)
    shared.load()
    return shared


@pytest.fixture(scope="session")
def amc_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """An index holding the AMC manual, built once; tests copy it when they need to write."""
    from fieldmind.knowledge.index import KnowledgeBase

    index_dir = tmp_path_factory.mktemp("amc") / "index"
    kb = KnowledgeBase(index_dir, embedder=embedder)
    report = kb.ingest([AMC_PDF])
    assert report.added == 1 and not report.failed
    kb.close()
    return index_dir


@pytest.fixture
def amc_kb(amc_index: Path, embedder):  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(amc_index, embedder=embedder)
    yield kb
    kb.close()


@pytest.fixture
def writable_kb(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(tmp_path / "index", embedder=embedder)
    yield kb
    kb.close()


def _engine(models_dir: Path, name: str):  # type: ignore[no-untyped-def]
    from fieldmind.llm.catalog import Catalog
    from fieldmind.llm.engine import Engine

    resolved = Catalog(models_dir).resolve(name)
    engine = Engine(resolved, threads=os.cpu_count() or 2, context_size=2048)
    engine.load()
    return engine


@pytest.fixture(scope="session")
def default_engine(models_dir: Path) -> Iterator[object]:
    """The embedded default model (Qwen2.5-Coder 0.5B Instruct), loaded once."""
    engine = _engine(models_dir, DEFAULT_MODEL)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def small_engine(models_dir: Path) -> Iterator[object]:
    """Gemma 3 270M: the fast model for plumbing tests (streaming, stopping)."""
    engine = _engine(models_dir, SMALL_MODEL)
    yield engine
    engine.close()


def fieldmind_command() -> list[str]:
    exe = shutil.which("fieldmind", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "fieldmind"]
