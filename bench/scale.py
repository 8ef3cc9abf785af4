"""Scale benchmark: search latency over 100,000 passages, and ingest throughput against raw encoding.

Run: .venv/bin/python bench/scale.py [--chunks 100000] [--ingest-chunks 2000]   (prints one JSON object)

Method.
- Search: real passages of the eval manuals are embedded; the index is filled to N passages with
  variants of them (sentences shuffled within a passage, numbers changed; vectors are the source vector
  plus Gaussian noise, renormalised), written straight to the store. Embedding 100k passages for real would
  take ~20 minutes on 2 cores and measure the embedder, not the search. Then every eval question is searched
  (query embedding + dense + keyword + fusion) in a warm process; p50/p95 over 5 rounds.
- Ingest: Markdown files totalling about M passages are written, then (a) `KnowledgeBase.ingest` on the
  folder and (b) raw `SentenceTransformer.encode` on exactly the texts ingest embedded (same batch size),
  each timed; the ratio is (b)'s time over (a)'s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from fieldmind.evaluation import load_items  # noqa: E402
from fieldmind.knowledge.chunking import Chunk, chunk_segments  # noqa: E402
from fieldmind.knowledge.embedder import Embedder  # noqa: E402
from fieldmind.knowledge.index import KnowledgeBase  # noqa: E402
from fieldmind.knowledge.parsers import parse  # noqa: E402
from fieldmind.knowledge.revisions import Scope  # noqa: E402
from fieldmind.knowledge.store import DocumentRecord  # noqa: E402

EVAL = ROOT / "tests" / "data" / "shared-set"


def _variant(text: str, rng: random.Random) -> str:
    sentences = text.split(". ")
    rng.shuffle(sentences)
    words = ". ".join(sentences).split()
    return " ".join(str(rng.randint(1, 999)) if w.isdigit() else w for w in words)


def _synthetic(
    base: list[Chunk], base_vectors: Any, count: int, rng: random.Random, nrng: Any
) -> tuple[list[Chunk], Any]:
    """`count` variants of real passages, with their vectors (the source's plus noise, renormalised)."""
    import numpy as np

    picks = [rng.randrange(len(base)) for _ in range(count)]
    chunks = [Chunk(_variant(base[i].text, rng), base[i].page, base[i].section) for i in picks]
    vectors = base_vectors[picks] + nrng.normal(0, 0.02, (len(picks), base_vectors.shape[1]))
    return chunks, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def search_latency(embedder: Embedder, total: int, work: Path) -> dict[str, object]:
    import numpy as np

    sources = [
        EVAL / "auto-multiple-choice.en.pdf",
        ROOT / "knowledge" / "demo" / "gx7500-generator-manual.pdf",
    ]
    base: list[Chunk] = []
    for source in sources:
        base.extend(chunk_segments(parse(source).segments, 60, 10))
    base_vectors = embedder.encode([c.embedding_text() for c in base])
    kb = KnowledgeBase(work / "index", embedder=embedder)
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    per_doc = 1000
    started = time.perf_counter()
    for doc_number in range(0, total, per_doc):
        chunks, vectors = _synthetic(base, base_vectors, min(per_doc, total - doc_number), rng, nrng)
        record = DocumentRecord(
            id=f"synthetic{doc_number:07d}",
            name=f"synthetic-{doc_number}.pdf",
            path=f"/synthetic/{doc_number}",
            source="local",
            sha256="0" * 64,
            size=0,
            kind="pdf",
            pages=None,
            chunks=len(chunks),
            # tags for the filtered searches: 10 assets (10% each), 2 models (50% each); every 20th
            # document is an older revision of the next one (5% superseded)
            tags={"asset": f"A{(doc_number // per_doc) % 10}", "model": f"M{(doc_number // per_doc) % 2}"},
            doc_key=f"doc{doc_number // per_doc:04d}" if (doc_number // per_doc) % 20 == 0 else None,
            revision="B" if (doc_number // per_doc) % 20 == 0 else "C",
        )
        with kb.locked_store() as store:
            store.put_document(record, chunks, vectors)
        if (doc_number // per_doc) % 20 == 0:  # its newer revision, same id
            newer = replace(record, id=f"synthetic{doc_number:07d}-c", doc_key=record.doc_key, revision="C")
            with kb.locked_store() as store:
                store.put_document(newer, chunks[:1], vectors[:1])
    build_s = time.perf_counter() - started
    questions = [item.question for item in load_items(EVAL / "qa.jsonl")]
    result: dict[str, object] = {"passages": kb.counts()["chunks"], "build_s": round(build_s, 1)}
    filters = {
        "current_revisions": (None, "the default: 5% of documents superseded, left out (over-fetch)"),
        "scope_10pct": (Scope({"asset": "A3"}), "--scope asset=A3: 10% of passages (exact over their vectors)"),
        "scope_50pct": (Scope({"model": "M1"}), "--scope model=M1: 50% of passages (over-fetch)"),
    }
    for name, (scope, what) in filters.items():
        start = time.perf_counter()
        kb.search(questions[0], 5, scope=scope)  # builds the filter (cached until the index changes)
        first_ms = (time.perf_counter() - start) * 1000
        for question in questions[:5]:
            kb.search(question, 5, scope=scope)  # warm up
        timings = []
        for _ in range(5):
            for question in questions:
                start = time.perf_counter()
                kb.search(question, 5, scope=scope)
                timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        result[name] = {
            "queries": len(timings),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            "first_query_ms": round(first_ms, 1),
            "filter": what,
        }
    return result | {
        "target_p95_ms": 30,
        "method": "warm process; query embedding, dense, keyword, fusion; variants of real passages",
    }


def ingest_throughput(embedder: Embedder, chunks_wanted: int, work: Path) -> dict[str, object]:
    rng = random.Random(11)
    base = chunk_segments(parse(EVAL / "auto-multiple-choice.en.pdf").segments, 60, 10)
    folder = work / "docs"
    folder.mkdir()
    per_file = 100
    for n in range(max(1, chunks_wanted // per_file)):
        sections = [f"## Part {n}.{i}\n\n{_variant(rng.choice(base).text, rng)}\n" for i in range(per_file)]
        (folder / f"manual-{n:03d}.md").write_text(f"# Manual {n}\n\n" + "\n".join(sections))
    kb = KnowledgeBase(work / "ingest-index", embedder=embedder)
    started = time.perf_counter()
    report = kb.ingest([folder])
    ingest_s = time.perf_counter() - started
    texts = []
    for path in sorted(folder.iterdir()):
        texts.extend(c.embedding_text() for c in chunk_segments(parse(path).segments, 60, 10))
    started = time.perf_counter()
    embedder.encode(texts)
    encode_s = time.perf_counter() - started
    return {
        "passages": report.chunks,
        "ingest_chunks_per_s": round(report.chunks / ingest_s, 1),
        "raw_encode_chunks_per_s": round(len(texts) / encode_s, 1),
        "ratio": round(encode_s / ingest_s, 3),
        "target_ratio": 0.9,
        "method": "KnowledgeBase.ingest of Markdown files vs SentenceTransformer.encode of the same texts",
    }


def site_search(embedder: Embedder, total: int, work: Path, terminals: int = 3) -> dict[str, object]:
    """Site mode: `total` passages on a real `chroma run` server, `terminals` terminals (homes) searching at
    once. Each terminal first copies the site (timed: what a new terminal costs), then searches its copy,
    looking at the server's listing at most every 5 s, as the app does."""
    import shutil
    import socket
    import subprocess
    import threading
    import urllib.request

    import numpy as np

    from fieldmind.knowledge.site import Site, SiteDocument

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    server = subprocess.Popen(
        [chroma, "run", "--path", str(work / "site"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        base = chunk_segments(parse(EVAL / "auto-multiple-choice.en.pdf").segments, 60, 10)
        base_vectors = embedder.encode([c.embedding_text() for c in base])
        rng, nrng = random.Random(5), np.random.default_rng(5)
        writer = Site("127.0.0.1", port, "bench-writer")
        per_doc = 1000
        started = time.perf_counter()
        for number in range(0, total, per_doc):
            chunks, vectors = _synthetic(base, base_vectors, min(per_doc, total - number), rng, nrng)
            record = DocumentRecord(
                id=f"site{number:07d}", name=f"site-{number}.pdf", path=f"/site/{number}", source="site:bench",
                sha256=f"{number:064d}", size=0, kind="pdf", pages=None, chunks=len(chunks),
            )  # fmt: skip
            writer.put(SiteDocument(record, chunks, vectors, [], []))
        write_s = time.perf_counter() - started
        homes = [
            KnowledgeBase(work / f"terminal-{n}" / "index", embedder=embedder, site=Site("127.0.0.1", port, f"t{n}"))
            for n in range(terminals)
        ]
        started = time.perf_counter()
        for kb in homes:
            kb.refresh_site(force=True)
        copy_s = (time.perf_counter() - started) / terminals
        questions = [item.question for item in load_items(EVAL / "qa.jsonl")]
        timings: list[float] = []
        lock = threading.Lock()

        def ask_all(kb: KnowledgeBase) -> None:
            for question in questions * 3:
                start = time.perf_counter()
                kb.search(question, 5)
                with lock:
                    timings.append((time.perf_counter() - start) * 1000)

        for kb in homes:
            kb.search(questions[0], 5)  # warm up
        workers = [threading.Thread(target=ask_all, args=(kb,)) for kb in homes]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        timings.sort()
        return {
            "passages": total,
            "terminals": terminals,
            "write_s": round(write_s, 1),
            "copy_per_terminal_s": round(copy_s, 1),
            "queries": len(timings),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
            "method": "3 terminals searching at once (threads, each its own index copy); listing every 5 s",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--ingest-chunks", type=int, default=2000)
    parser.add_argument("--site", action="store_true", help="Also the site mode: a Chroma server, 3 terminals.")
    parser.add_argument("--only-site", action="store_true", help="Only the site mode.")
    parser.add_argument("--only-search", action="store_true", help="Only search latency (with and without filters).")
    args = parser.parse_args()
    embedder = Embedder()
    embedder.load()
    # searches embed the question as the app does: ONNX Runtime over the once-exported model (torch took
    # ~67 ms a question here, more than all the rest of a search)
    from fieldmind.knowledge.embedder import ONNX_NAME
    from fieldmind.settings import load_settings

    app_embedder = Embedder(onnx_path=load_settings().embedder_dir / ONNX_NAME)
    app_embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result: dict[str, object] = {}
        if not (args.only_site or args.only_search):
            result["ingest"] = ingest_throughput(embedder, args.ingest_chunks, work)
        if not args.only_site:
            result["search"] = search_latency(app_embedder, args.chunks, work)
        if args.site or args.only_site:
            result["site_search"] = site_search(app_embedder, args.chunks, work)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
