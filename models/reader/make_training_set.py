"""Make the reader's training set: questions a model wrote for lines of real manuals that no question set
asks about, each with the stretches Fieldmind itself weighs for it, labelled.

    python models/reader/make_training_set.py sources      # choose and render the documents (sources.json)
    python models/reader/make_training_set.py questions    # write questions; resumable, runs for hours
    python models/reader/make_training_set.py stats

1. **Sources.** This machine's manual pages (sections 1, 5 and 8), rendered to PDF by groff, and the HTML
   manuals under /usr/share/doc: real reference manuals with options, defaults, values and procedures. Packages
   of the software any question set of `tests/data/` asks about (or of the same software) are left out by
   name (`EXCLUDED`); each document's package and licence is recorded in `sources.json`, committed, so anyone
   can check. Chosen with a fixed seed, at most `PER_PACKAGE` pages a package.
2. **Index.** The documents go through Fieldmind's own `KnowledgeBase` (its parsers, chunker, embedder,
   Chroma), so the reader sees pages and units exactly as the app cuts them.
3. **Questions.** Units (sentences, list items, table rows of 6–60 words) are taken in a seeded order; for each, the
   default model (Qwen2.5-Coder-0.5B-Instruct, or another with `--model`: each question records its `writer`) writes
   one question of a kind taken in turn: a value or setting asked for, a paraphrase, a "how do I", or one the line
   does NOT answer though it sounds like it (for abstention). Dropped: a question that copies the line (`COPY_WORDS`
   words in a row), one that is not a question, one whose page is not among the five passages retrieved for it (the
   round trip). Then the stretches (`choose.score`) Fieldmind ranks for the question are labelled: 1 when a stretch
   holds the unit, 0 otherwise — the lines around it, its heading, the other retrieved pages: today's near misses.
   Every stretch of an unanswerable question is 0. One JSON line a question in `training-set.jsonl`; every unit
   tried, kept or not, in `progress.jsonl`: killed, it resumes where it stopped.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources.json"
TRAINING_SET = HERE / "training-set.jsonl"
PROGRESS = HERE / "progress.jsonl"
SEED = 20261204
DOCUMENTS = 600
PER_PACKAGE = 3
MIN_MAN_BYTES = 3000
"""Compressed size below which a manual page is a stub (a synopsis and one line)."""
EXCLUDED = re.compile(
    r"auto-multiple-choice|^amc|live-(build|boot|config|manual|tools)|apcupsd|avrdude|^nut\b|^nut-|^ups|"
    r"libupsclient|gpsbabel|gpsd|expeyes|eyes17",
    re.IGNORECASE,
)
"""The software of the question sets (AMC, Debian Live, apcupsd, AVRDUDE, Network UPS Tools, GPSBabel, expEYES) and its
kin (gpsd reads the same receivers as GPSBabel): never trained on."""
KINDS = ("value", "paraphrase", "howto", "value", "paraphrase", "unanswerable")
"""The kinds of question, taken in turn: values and paraphrases twice as often as the others. (A problem in the
user's words, "My … What should I do?", was tried with the 1.5B writer: 3 kept of 43 units, most of them "My pump
is not working" whatever the line said — the 3 are in the set as kind "problem".)"""
INSTRUCTIONS = {
    "value": "Write one question whose answer is a value, setting, name or number given in this text.",
    "paraphrase": "Write one question that this text answers, in other words than the text uses.",
    "howto": "Write one question starting with 'How do I' that this text answers.",
    "unanswerable": "Write one question on the same subject that this text does NOT answer.",
}
SYSTEM = "You write the questions that technicians ask about their manuals."
COPY_WORDS = 6
"""A question sharing this many words in a row with its line copies it: nothing to learn from it."""
MIN_UNIT_WORDS = 6
WRITER = "qwen2.5-coder-0.5b-instruct"
"""The model that writes the questions unless `--model` names another (and that wrote every question before the
training set recorded its writer)."""
TOP_K = 5


def _work(args: argparse.Namespace) -> Path:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    return work


def _packages() -> dict[str, str]:
    """Installed file → Debian package, from dpkg's own lists."""
    owner: dict[str, str] = {}
    for listing in Path("/var/lib/dpkg/info").glob("*.list"):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            owner[line] = package
    return owner


def _licence(package: str) -> str:
    """The licence names of a package's copyright file (DEP-5 `License:` lines), or its first mention."""
    path = Path("/usr/share/doc") / package / "copyright"
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "unknown (no copyright file)"
    names = [m.strip() for m in re.findall(r"^License:\s*(\S.*)$", text, re.MULTILINE)]
    if names:
        return ", ".join(dict.fromkeys(names))
    found = re.search(r"\b(GPL|LGPL|BSD|MIT|Apache|Artistic|public domain|GFDL)[\w\-. ]{0,12}", text, re.IGNORECASE)
    return found.group(0).strip() if found else "see copyright file"


def sources(args: argparse.Namespace) -> None:
    """Choose the documents (seeded), render manual pages to PDF, and write sources.json."""
    work = _work(args)
    owner = _packages()
    candidates: list[tuple[str, str]] = []  # (path, package)
    for section in ("man1", "man5", "man8"):
        for page in sorted(Path("/usr/share/man", section).glob("*.gz")):
            if page.is_symlink() or page.stat().st_size < MIN_MAN_BYTES:
                continue
            package = owner.get(str(page), "")
            if package and not EXCLUDED.search(package) and not EXCLUDED.search(page.name):
                candidates.append((str(page), package))
    for page in sorted(Path("/usr/share/doc").rglob("*.html")):
        package = owner.get(str(page), "")
        if package and not EXCLUDED.search(package) and page.stat().st_size > 8000:
            candidates.append((str(page), package))
    rng = random.Random(SEED)
    rng.shuffle(candidates)
    taken: Counter[str] = Counter()
    chosen = []
    out = work / "documents"
    out.mkdir(exist_ok=True)
    for path, package in candidates:
        if len(chosen) >= args.documents:
            break
        if taken[package] >= PER_PACKAGE:
            continue
        source = Path(path)
        if source.suffix == ".gz":
            target = out / (source.name.removesuffix(".gz").replace(".", "_") + ".pdf")
            roff = b".kern 0\n" + gzip.decompress(source.read_bytes())  # kerned Times splits words in PDFium
            if roff.startswith(b".kern 0\n.so ") or (b".TH" not in roff[:4000] and b".Dd" not in roff[:4000]):
                continue  # an alias of another page, or not man/mdoc source
            try:
                run = subprocess.run(
                    ["groff", "-Tpdf", "-t", "-mandoc", "-P-pa4"], input=roff, capture_output=True, timeout=60
                )
            except subprocess.TimeoutExpired:
                continue
            if run.returncode != 0 or len(run.stdout) < 2000:
                continue
            target.write_bytes(run.stdout)
        else:
            target = out / f"{package}-{source.stem}.html"
            target.write_bytes(source.read_bytes())
        taken[package] += 1
        chosen.append(
            {
                "document": target.name,
                "from": path,
                "package": package,
                "licence": _licence(package),
                "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
            }
        )
    manifest = {
        "made_by": "models/reader/make_training_set.py sources",
        "seed": SEED,
        "excluded": EXCLUDED.pattern,
        "documents": chosen,
    }
    SOURCES.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(chosen)} documents from {len(taken)} packages → {SOURCES}", file=sys.stderr)


def _knowledge(work: Path) -> Any:
    from fieldmind.knowledge.embedder import ONNX_NAME, Embedder
    from fieldmind.knowledge.index import KnowledgeBase
    from fieldmind.settings import KnowledgeSettings

    embedder = Embedder(onnx_path=work / "models" / "embedder" / ONNX_NAME)
    return KnowledgeBase(work / "index", settings=KnowledgeSettings(ocr=False), embedder=embedder)


def _units(kb: Any) -> list[dict[str, Any]]:
    """Every unit a question may be written for, in a seeded order (the same on every run)."""
    from fieldmind.answers.units import split_units

    found = []
    for record in sorted(kb.documents(), key=lambda r: r.name):
        with kb.locked_store() as store:
            views = store.page_texts(record.id, None)
        for page, section, text in views:
            for span in split_units(text):
                unit = text[span.start : span.end]
                words = len(unit.split())
                if span.kind == "heading" or not MIN_UNIT_WORDS <= words <= 60 or not re.search(r"[a-z]{3}", unit):
                    continue
                header = text[span.header[0] : span.header[1]] if span.header else None
                found.append(
                    {
                        "doc_id": record.id,
                        "doc": record.name,
                        "page": page,
                        "section": section,
                        "view": _view(text),
                        "start": span.start,
                        "end": span.end,
                        "text": f"{header}\n{unit}" if header else unit,
                    }
                )
    random.Random(SEED).shuffle(found)
    return found


def _copies(question: str, line: str) -> bool:
    words = re.findall(r"\w+", line.casefold())
    asked = re.findall(r"\w+", question.casefold())
    grams = {tuple(words[i : i + COPY_WORDS]) for i in range(len(words) - COPY_WORDS + 1)}
    return any(tuple(asked[i : i + COPY_WORDS]) in grams for i in range(len(asked) - COPY_WORDS + 1))


TEXT_TALK = re.compile(
    r"\s*,?\s+(?:in|from|of|according to|by)\s+(?:the\s+|this\s+)?(?:given\s+)?(?:manual\s+)?(?:text|manual)(?=\s*\?$)",
    re.IGNORECASE,
)
""""… in the manual text?", "… in the given text?": the writer speaking of its prompt (one question in twelve);
nobody asks a manual so."""


def plain(question: str) -> str:
    """The question without the writer's talk of "the manual text" at its end."""
    return TEXT_TALK.sub("", question)


def _clean(written: str) -> str | None:
    """The first question in what the model wrote, in plain words, or None."""
    line = written.strip().strip('"').splitlines()[0].strip() if written.strip() else ""
    line = re.sub(r"^(?:Question|Q)\s*[:.]\s*", "", line, flags=re.IGNORECASE).strip().strip('"')
    if not line.endswith("?") or not 4 <= len(line.split()) <= 30:
        return None
    return plain(line)


def _holds(window: Any, unit: dict[str, Any]) -> bool:
    """Whether a stretch holds the unit: the same page (or section) text, the unit's start inside it."""
    if window.passage.doc_id != unit["doc_id"] or _view(window.first.page_text) != unit["view"]:
        return False
    return bool(window.start <= unit["start"] < window.end)


def stretch(window: Any, label: int) -> dict[str, Any]:
    """A candidate stretch as the training set records it: what the reader reads, its lines, label and today's score."""
    return {
        "text": window.scoring_text(),
        "lines": window.embedding_text(),
        "label": label,
        "score": round(window.score, 4),
    }


def _view(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def questions(args: argparse.Namespace) -> None:
    """Write questions until `--questions` are kept or the units run out; resumable."""
    from fieldmind.answers import terms
    from fieldmind.assistant import Assistant
    from fieldmind.llm.catalog import Catalog
    from fieldmind.llm.engine import Engine
    from fieldmind.llm.prompts import Prompt
    from fieldmind.locations import shipped

    work = _work(args)
    out_dir = Path(args.out)
    training_set, progress_file = out_dir / TRAINING_SET.name, out_dir / PROGRESS.name
    manifest = json.loads(Path(args.manifest).read_text())
    kb = _knowledge(work)
    documents = [work / "documents" / d["document"] for d in manifest["documents"]]
    started = time.perf_counter()
    report = kb.ingest(documents)
    print(
        f"index: {report.added} added, {report.unchanged} unchanged, {len(report.failed)} failed "
        f"({time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    units = _units(kb)
    done = {json.loads(x)["unit"] for x in progress_file.read_text().splitlines()} if progress_file.exists() else set()
    kept = sum(1 for _ in training_set.open()) if training_set.exists() else 0
    catalog = Catalog(work / "models", shipped("models/catalog.toml"))
    engine = Engine(catalog.resolve(args.model), threads=args.threads, context_size=1024)
    assistant = Assistant(kb, None, answer_k=TOP_K)
    print(f"{len(units)} units, {len(done)} tried before, {kept} questions kept", file=sys.stderr)
    tried_now = 0
    session = time.perf_counter()
    with progress_file.open("a") as progress, training_set.open("a") as out:
        for number, unit in enumerate(units):
            if (
                kept >= args.questions
                or tried_now >= args.units
                or (args.minutes and time.perf_counter() - session > args.minutes * 60)
            ):
                break
            key = f"{unit['doc']}:{unit['page']}:{unit['view']}:{unit['start']}"
            if key in done:
                continue
            kind = KINDS[number % len(KINDS)]
            user = f"Manual text:\n{unit['text']}\n\n{INSTRUCTIONS[kind]} Reply with the question only."
            prompt = Prompt(
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
                completion=f"{user}\nQuestion:",
            )
            written = "".join(engine.stream(prompt, 40))
            question = _clean(written)
            verdict = "kept"
            record: dict[str, Any] | None = None
            if question is None:
                verdict = "not a question"
            elif _copies(question, unit["text"]):
                verdict = "copies the line"
            else:
                passages = kb.search(question, TOP_K)
                if not any(p.doc_id == unit["doc_id"] and p.page == unit["page"] for p in passages):
                    verdict = "round trip failed"
                else:
                    windows = assistant.evidence(question, passages)
                    labels = [0 if kind == "unanswerable" else int(_holds(w, unit)) for w in windows]
                    if kind != "unanswerable" and not any(labels):
                        verdict = "no stretch holds the line"
                    else:
                        absent = len(kb.absent_terms(terms.topic_terms(question)))
                        record = {
                            "id": hashlib.sha256(f"{key}:{question}".encode()).hexdigest()[:12],
                            "kind": kind,
                            "writer": args.model,
                            "question": question,
                            "doc": unit["doc"],
                            "page": unit["page"],
                            "unit": unit["text"],
                            "absent": absent,
                            "candidates": [
                                stretch(w, label)
                                | {
                                    "same_page": w.passage.doc_id == unit["doc_id"]
                                    and _view(w.first.page_text) == unit["view"]
                                }
                                for w, label in zip(windows, labels, strict=True)
                            ],
                        }
            if record is not None:
                out.write(json.dumps(record) + "\n")
                out.flush()
                kept += 1
            tried = {"unit": key, "kind": kind, "writer": args.model, "written": written[:300], "verdict": verdict}
            progress.write(json.dumps(tried) + "\n")
            progress.flush()
            tried_now += 1
            if tried_now % 20 == 0:
                hours = (time.perf_counter() - session) / 3600
                print(f"tried {tried_now} ({tried_now / hours:.0f}/h), kept {kept} in all", file=sys.stderr)
    kb.close()


def stats(args: argparse.Namespace) -> None:
    out_dir = Path(args.out)
    verdicts = Counter(json.loads(line)["verdict"] for line in (out_dir / PROGRESS.name).read_text().splitlines())
    rows = [json.loads(line) for line in (out_dir / TRAINING_SET.name).read_text().splitlines()]
    kinds = Counter(r["kind"] for r in rows)
    pairs = sum(len(r["candidates"]) for r in rows)
    positives = sum(c["label"] for r in rows for c in r["candidates"])
    print(json.dumps({"tried": dict(verdicts), "kept_by_kind": dict(kinds), "pairs": pairs, "positive": positives}))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("step", choices=("sources", "questions", "stats"))
    parser.add_argument("--work", default=str(Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-reader"))
    parser.add_argument("--documents", type=int, default=DOCUMENTS)
    parser.add_argument("--manifest", default=str(SOURCES), help="the sources (documents under WORK/documents)")
    parser.add_argument("--out", default=str(HERE), help="where training-set.jsonl and progress.jsonl go")
    parser.add_argument("--questions", type=int, default=20000, help="stop when this many are kept")
    parser.add_argument("--units", type=int, default=10**9, help="stop when this many units were tried")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    parser.add_argument("--model", default=WRITER, help="a catalogue name or a .gguf path")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    {"sources": sources, "questions": questions, "stats": stats}[args.step](args)


if __name__ == "__main__":
    main()
