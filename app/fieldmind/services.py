"""The parts of a running Fieldmind, built from settings and shared by the CLI and the TUI.

Nothing heavy is built until asked for: the knowledge base opens its index on first use, the model loads
on first question. The demo manual is ingested once per home, the first time the index is found empty.
"""

from __future__ import annotations

from pathlib import Path

from fieldmind.assistant import Assistant
from fieldmind.files import Progress
from fieldmind.history import History
from fieldmind.knowledge.embedder import ONNX_NAME, Embedder
from fieldmind.knowledge.index import IngestReport, KnowledgeBase
from fieldmind.llm.catalog import Catalog
from fieldmind.llm.engine import Engine
from fieldmind.locations import shipped
from fieldmind.settings import Settings

DEMO_MARKER = ".demo-offered"


class Services:
    """Settings plus the knowledge base, model catalogue, engine and assistant made from them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder or Embedder(
            threads=settings.threads,
            onnx_path=settings.embedder_dir / ONNX_NAME,
            backend=settings.knowledge.embedder_backend,
        )
        self.knowledge = KnowledgeBase(settings.index_dir, settings.knowledge, self.embedder)
        self.catalog = Catalog(settings.models_dir)
        self._engine: Engine | None = None
        self._history: History | None = None

    @property
    def history(self) -> History:
        if self._history is None:
            self._history = History(self.settings.home / "history.sqlite")
        return self._history

    @property
    def active_engine(self) -> Engine | None:
        return self._engine

    def load_engine(self, model: str, progress: Progress | None = None) -> Engine:
        """A new engine for `model`, assembled, checked and loaded, without touching the active one."""
        engine = Engine(self.catalog.resolve(model, progress), self.settings.threads, self.settings.model.context_size)
        engine.load()
        return engine

    def use_engine(self, engine: Engine) -> None:
        """Make `engine` the one that answers; the old one closes after any answer it is writing."""
        old, self._engine = self._engine, engine
        if old is not None and old is not engine:
            old.close()

    def engine(self, model: str | None = None, progress: Progress | None = None) -> Engine:
        """The engine for `model` (default: the configured one), assembled and checked, not yet loaded."""
        if model is None and self._engine is not None:
            return self._engine  # the active one (the TUI may have switched it)
        wanted = model or self.settings.model.name
        if self._engine is not None and wanted in (self._engine.model.name, str(self._engine.model.path)):
            return self._engine
        resolved = self.catalog.resolve(wanted, progress)
        if self._engine is not None:
            self._engine.close()
        self._engine = Engine(resolved, self.settings.threads, self.settings.model.context_size)
        return self._engine

    def assistant(self, model: str | None = None, progress: Progress | None = None) -> Assistant:
        return Assistant(
            self.knowledge,
            self.engine(model, progress),
            answer_k=self.settings.knowledge.answer_k,
            short_answers=self.settings.model.short_answers,
        )

    def open_knowledge(self) -> tuple[str | None, IngestReport | None]:
        """At start, the same in every interface: repair the index if it needs it, then offer the demo manual.

        Returns what the repair did (to tell the user) and the demo ingest's report (None when not offered).
        """
        repaired = self.check_index()
        return repaired, self.ensure_demo_knowledge()

    def ensure_demo_knowledge(self) -> IngestReport | None:
        """On first run with an empty index, ingest the demo manual shipped with the app."""
        marker = self.settings.index_dir / DEMO_MARKER
        if not self.settings.demo_knowledge or marker.exists() or not self.knowledge.is_empty():
            return None
        demo = demo_dir()
        report = self.knowledge.ingest([demo]) if demo.is_dir() else None
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("the demo knowledge was offered once; remove this file to have it again\n")
        return report

    def check_index(self) -> str | None:
        """At start: repair the index if a write was interrupted or the vector store is damaged.

        Repairs write, so they run under the index's write lock, and only when no other process holds it: a
        `.writing` marker seen while another Fieldmind ingests or syncs is that process at work, not a crash
        (reconciling under it once left 804 passages with 800 vectors).
        """
        from filelock import Timeout

        if self.knowledge.is_empty():
            return None
        try:
            with self.knowledge.write_lock().acquire(timeout=0):
                return self._repair()
        except Timeout:
            return None  # another process is writing; it finishes its write, or the next start repairs it

    def _repair(self) -> str | None:
        notes = []
        if self.knowledge.interrupted():
            repaired = self.knowledge.reconcile()
            notes.append(
                f"finished an interrupted write ({repaired['pruned']} pruned, {repaired['restored']} restored)"
            )
        problem = self.knowledge.check_vectors()
        if problem:
            notes.append(problem)
        return "; ".join(notes) or None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        if self._history is not None:
            self._history.close()
        self.knowledge.close()


def apply_network_policy(settings: Settings) -> None:
    """Allow connections to the configured sync source and Chroma server only; refuse and log the rest."""
    from fieldmind import netguard

    endpoints = []
    if settings.sync.source and (endpoint := netguard.endpoint_of(settings.sync.source)):
        endpoints.append(endpoint)
    if settings.knowledge.backend == "http":
        endpoints.append((settings.knowledge.chroma_host, settings.knowledge.chroma_port))
    netguard.install(endpoints, settings.logs_dir / "network.log")


def demo_dir() -> Path:
    return shipped("knowledge/demo")
