"""The parts of a running Fieldmind, built from settings and shared by the CLI and the TUI.

Nothing heavy is built until asked for: the knowledge base opens its index on first use, the model loads
on first question. The demo manual is ingested once per home, the first time the index is found empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fieldmind.answers.reader import shipped_reader
from fieldmind.assistant import Assistant, TextGenerator
from fieldmind.errors import FieldmindError
from fieldmind.files import Progress
from fieldmind.history import History
from fieldmind.knowledge.embedder import ONNX_NAME, Embedder
from fieldmind.knowledge.index import IngestReport, KnowledgeBase
from fieldmind.knowledge.picture import PagePicture
from fieldmind.llm.catalog import Catalog
from fieldmind.llm.engine import Engine
from fieldmind.llm.fallback import FallbackEngine
from fieldmind.llm.server import InferenceServer
from fieldmind.locations import shipped
from fieldmind.originals import OriginalFiles
from fieldmind.settings import Settings
from fieldmind.sync.state import SyncPaths

DEMO_MARKER = ".demo-offered"

EngineFactory = Callable[[str, Progress | None], Engine]


class Services:
    """Settings plus the knowledge base, model catalogue, engine and assistant made from them."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, engine_factory: EngineFactory | None = None
    ) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder or Embedder(
            threads=settings.threads,
            onnx_path=settings.embedder_dir / ONNX_NAME,
            backend=settings.knowledge.embedder_backend,
        )
        site = None
        if settings.knowledge.backend == "http":
            from fieldmind.knowledge.site import Site, terminal_id

            site = Site(settings.knowledge.chroma_host, settings.knowledge.chroma_port, terminal_id(settings.home))
        self.knowledge = KnowledgeBase(settings.index_dir, settings.knowledge, self.embedder, site=site)
        self.catalog = Catalog(settings.models_dir)
        self.reader = shipped_reader(settings.threads) if settings.knowledge.reader else None
        """Fieldmind's own reader (None in a build that ships none); loaded, and its sha256 checked, on first use."""
        self.engine_factory: EngineFactory = engine_factory or self._new_engine
        """Makes an engine for a model name; tests give one that makes a fake."""
        self._engine: Engine | None = None
        self.originals = OriginalFiles(SyncPaths(settings.home).kept_copy)
        """A document's own file: sync's kept copy or the unchanged local file."""
        self._history: History | None = None
        self.server: InferenceServer | None = None
        """The site's inference server (engine.backend = "server"): words answers while it is up."""
        if settings.engine.backend == "server":
            if not settings.engine.url:
                raise FieldmindError(
                    'engine.backend is "server" but engine.url is not set: give --engine-url or FIELDMIND_ENGINE__URL'
                )
            self.server = InferenceServer(settings.engine, settings.logs_dir / "engine.log")

    @property
    def history(self) -> History:
        if self._history is None:
            self._history = History(self.settings.home / "history.sqlite")
        return self._history

    @property
    def engine(self) -> Engine | None:
        """The engine answering now; None until the first question or load."""
        return self._engine

    def use_model(self, model: str | None = None, progress: Progress | None = None, *, load: bool = True) -> Engine:
        """The one way the answering engine comes to be or changes.

        `model` defaults to the one answering now, else the configured one. A different model gets a new
        engine, loaded (when `load`) before it replaces the old one: the old keeps answering meanwhile and
        closes after any answer it is writing. Without `load` the model loads on its first question.
        """
        current = self._engine
        wanted = model or (current.model.name if current is not None else self.settings.model.name)
        if current is not None and wanted in (current.model.name, str(current.model.path)):
            engine = current
        else:
            engine = self.engine_factory(wanted, progress)
        if load:
            engine.load()
        old, self._engine = self._engine, engine
        if old is not None and old is not engine:
            old.close()
        return engine

    def _new_engine(self, model: str, progress: Progress | None) -> Engine:
        """The model assembled from its packages and checked, in an engine not yet loaded."""
        resolved = self.catalog.resolve(model, progress)
        return Engine(resolved, self.settings.threads, self.settings.model.context_size)

    def answering(self, engine: Engine) -> TextGenerator:
        """What words answers: the local engine, or the site's server with the local engine as its fallback."""
        return engine if self.server is None else FallbackEngine(self.server, engine)

    def assistant(self, model: str | None = None, progress: Progress | None = None, short: bool = True) -> Assistant:
        """The question pipeline; with `short=False` it quotes only, and no model is prepared or loaded."""
        short = short and self.settings.model.short_answers
        return Assistant(
            self.knowledge,
            self.answering(self.use_model(model, progress, load=False)) if short else None,
            answer_k=self.settings.knowledge.answer_k,
            short_answers=short,
            reader=self.reader,
        )

    def open_knowledge(self) -> tuple[str | None, IngestReport | None]:
        """At start, the same in every interface: repair the index if it needs it, then offer the demo manual.

        Returns what the repair did (to tell the user) and the demo ingest's report (None when not offered).
        """
        repaired = self.check_index()
        self.knowledge.refresh_site(force=True)  # the site's documents, once now; the app refreshes on a schedule
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
        """At start: repair the index if a write was interrupted or the vector store is damaged (repair.py)."""
        from fieldmind.knowledge.repair import repair_at_start

        return repair_at_start(self.knowledge)

    def page_picture(self, ref: str, page: int, quote: str | None = None, width: int = 1200) -> PagePicture:
        """A page of a document (by id, name or path) as a picture, the words of `quote` marked on it."""
        from fieldmind.knowledge.picture import render_page

        matches = self.knowledge.resolve(ref)
        if not matches:
            raise FieldmindError(f"no document {ref!r}; `fieldmind docs` lists them")
        record = matches[0]
        if record.kind != "pdf":
            raise FieldmindError(f"{record.name} is {record.kind}, not a PDF: it has no page pictures")
        words = self.knowledge.ocr_words(record.id, page) if quote else None
        return render_page(self.originals.of(record), page, quote, words, width)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._engine is not None:
            self._engine.close()
        if self._history is not None:
            self._history.close()
        self.knowledge.close()


def apply_network_policy(settings: Settings) -> None:
    """Allow connections to the configured sync source, Chroma server and inference server only; refuse and log
    the rest."""
    from fieldmind import netguard

    endpoints = []
    if settings.sync.source and (endpoint := netguard.endpoint_of(settings.sync.source)):
        endpoints.append(endpoint)
    if settings.knowledge.backend == "http":
        endpoints.append((settings.knowledge.chroma_host, settings.knowledge.chroma_port))
    engine = settings.engine
    if engine.backend == "server" and engine.url and (endpoint := netguard.endpoint_of(engine.url)):
        endpoints.append(endpoint)
    netguard.install(endpoints, settings.logs_dir / "network.log")


def demo_dir() -> Path:
    return shipped("knowledge/demo")
