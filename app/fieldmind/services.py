"""The parts of a running Fieldmind, built from settings and shared by the CLI and the TUI.

Nothing heavy is built until asked for: the knowledge base opens its index on first use, the model loads
on first question. The demo manual is ingested once per home, the first time the index is found empty.
"""

from __future__ import annotations

from pathlib import Path

from fieldmind.assistant import Assistant
from fieldmind.knowledge.embedder import Embedder
from fieldmind.knowledge.index import IngestReport, KnowledgeBase
from fieldmind.llm.catalog import Catalog, Progress
from fieldmind.llm.engine import Engine
from fieldmind.locations import shipped
from fieldmind.settings import Settings

DEMO_MARKER = ".demo-offered"


class Services:
    """Settings plus the knowledge base, model catalogue, engine and assistant made from them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder or Embedder(threads=settings.threads)
        self.knowledge = KnowledgeBase(settings.index_dir, settings.knowledge, self.embedder)
        self.catalog = Catalog(settings.models_dir)
        self._engine: Engine | None = None

    def engine(self, model: str | None = None, progress: Progress | None = None) -> Engine:
        """The engine for `model` (default: the configured one), assembled and checked, not yet loaded."""
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
            max_tokens=self.settings.model.max_answer_tokens,
        )

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

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
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
