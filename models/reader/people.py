"""Questions people wrote: the FAQs of documentation packages, each question asked of its own answers.

    python models/reader/people.py                # → models/reader/people-set.jsonl (+ people-sources.json)

Every question the writers make is a small model's way of asking, and a reader trained on them learns it
(docs/quality.md, round 33). An FAQ is a list of questions that people asked of one program, each above the
paragraphs that answer it. So: the FAQs of two Debian documentation packages (`perl-doc`: perlfaq1–9, in POD;
`python3.11-doc`: the Python FAQ, in reStructuredText) and the plain-text FAQs of three more (`xz-utils`,
`zlib1g-dev`, `procps`), fetched with `apt-get download` as Debian's other documentation packages are; their
question headings taken out and kept aside, the rest written as Markdown (the FAQ's title and its chapters as
headings, the answers as paragraphs) and read by Fieldmind's own `KnowledgeBase`. Each question then goes through
retrieval and `choose.score` as a user's would, and the stretches are labelled like the training set's: 1 when a
stretch holds its answer's opening, 0 otherwise (the answers before and after it, other chapters). Same record as
`training-set.jsonl`, kind "faq", writer "people". None of these programs is the software of any question set.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_training_set import TOP_K, _knowledge, stretch  # noqa: E402

PEOPLE_SET = HERE / "people-set.jsonl"
PEOPLE_SOURCES = HERE / "people-sources.json"
WRITER = "people"
PACKAGES = {
    "perl-doc": ("usr/share/perl/5.36.0/pod", "perlfaq[1-9].pod", "pod"),
    "python3.11-doc": ("usr/share/doc/python3.11/html/_sources/faq", "*.rst.txt", "rst"),
    "xz-utils": ("usr/share/doc/xz-utils", "faq.txt.gz", "text"),
    "zlib1g-dev": ("usr/share/doc/zlib1g-dev", "FAQ.gz", "text"),
    "procps": ("usr/share/doc/procps", "FAQ.gz", "text"),
}
LICENCES = {
    "perl-doc": "GPL-1+ or Artistic (the package copyright's `Files: *`; perlfaq: the same terms as Perl)",
    "python3.11-doc": "PSF-2.0 (the Python Software Foundation License, in the package copyright)",
    "xz-utils": "PD (the package copyright's `Files: *`: put in the public domain)",
    "zlib1g-dev": "Zlib (the package copyright's `Files: *`)",
    "procps": "LGPL-2.1+ (the package copyright's `Files: *`)",
}
OPENING_CHARS = 60
"""An answer's opening: its first this many characters (spaces squeezed) mark the stretch that holds it."""


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _pod_text(text: str) -> str:
    """POD's formatting codes (C<…>, L<text|link>, E<gt>, C<< … >>) as the words they show."""
    text = re.sub(r"E<(lt|gt)>", lambda m: "<" if m.group(1) == "lt" else ">", text)
    text = re.sub(r"[A-Z]<<+\s(.*?)\s>>+", r"\1", text, flags=re.DOTALL)
    for _ in range(3):
        text = re.sub(r"L<([^<>|]*)\|[^<>]*>", r"\1", text)
        text = re.sub(r"[A-Z]<([^<>]*)>", r"\1", text)
    return text


def faq_from_pod(text: str) -> tuple[str, list[tuple[str | None, str | None, list[str]]]]:
    """(title, [(chapter, question or None, paragraphs)]) of a perlfaq page: =head1 chapters, =head2 questions."""
    title, blocks = "", []
    chapter: str | None = None
    question: str | None = None
    paragraphs: list[str] = []
    skipping = False

    def flush() -> None:
        if paragraphs:
            blocks.append((chapter, question, list(paragraphs)))
            paragraphs.clear()

    for paragraph in re.split(r"\n\s*\n", text):
        if not paragraph.strip():
            continue
        command = re.match(r"=(\w+)\s*(.*)", paragraph.strip(), re.DOTALL)
        if command is None:
            if not skipping:
                paragraphs.append(_pod_text(paragraph.rstrip()))
            continue
        name, rest = command.group(1), _squeeze(_pod_text(command.group(2)))
        if name == "begin":
            skipping = True
        elif name == "end":
            skipping = False
        elif name in ("head1", "head2"):
            flush()
            if name == "head1":
                chapter, question = rest, None
            else:
                question = rest
        elif name == "item" and rest not in ("*", ""):
            paragraphs.append(rest.removeprefix("* "))
    flush()
    named = next((b for b in blocks if b[0] == "NAME"), None)
    if named:
        title = _squeeze(named[2][0])
    kept = [b for b in blocks if b[0] not in ("NAME", "VERSION", "AUTHOR AND COPYRIGHT")]
    return title, kept


def _rst_text(text: str) -> str:
    """reStructuredText's roles and links as the words they show."""
    text = re.sub(r":\w+(?::\w+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)
    text = re.sub(r"`([^`<]+?)\s*<[^>]*>`_+", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_*", r"\1", text)
    return re.sub(r"::$", ":", text, flags=re.MULTILINE)


def faq_from_rst(text: str) -> tuple[str, list[tuple[str | None, str | None, list[str]]]]:
    """(title, [(chapter, question or None, paragraphs)]) of a Python FAQ page: the overlined title, "="
    chapters, "-" questions; directives (`.. only::`, `.. _label:`) left out, their indented bodies kept."""
    lines = text.splitlines()
    title, blocks = "", []
    chapter: str | None = None
    question: str | None = None
    paragraph: list[str] = []
    paragraphs: list[str] = []

    def end_paragraph() -> None:
        if paragraph:
            paragraphs.append(_rst_text("\n".join(paragraph)))
            paragraph.clear()

    def flush() -> None:
        end_paragraph()
        if paragraphs:
            blocks.append((chapter, question, list(paragraphs)))
            paragraphs.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        under = lines[index + 1] if index + 1 < len(lines) else ""
        if re.fullmatch(r"([=\-~^])\1{3,}", line.strip()) and index + 2 < len(lines):
            title = _squeeze(under)  # an overlined title: the page's own
            index += 3
            continue
        if line.strip() and re.fullmatch(r"([=\-~^])\1{3,}", under.strip()) and len(under.strip()) >= len(line.strip()):
            flush()
            if under.strip()[0] == "=":
                chapter, question = _squeeze(_rst_text(line)), None
            else:
                question = _squeeze(_rst_text(line))
            index += 2
            continue
        if line.strip().startswith(".. ") or line.startswith(":tocdepth:") or not line.strip():
            end_paragraph()
        else:
            paragraph.append(line.rstrip())
        index += 1
    flush()
    return title, blocks


QUESTION_MARK = re.compile(r"^(?:Q[:.]\s*|\d+\.\s+)?(?P<question>\S.*\?)$", re.DOTALL)
ANSWER_MARK = re.compile(r"^A[:.]\s+")


def faq_from_text(text: str) -> tuple[str, list[tuple[str | None, str | None, list[str]]]]:
    """(title, [(None, question, paragraphs)]) of a plain-text FAQ: a question is a paragraph at the margin (or
    one space in) that ends in "?", marked "Q:" or numbered or not; its answer the indented (or "A:") paragraphs
    after it. Paragraphs before the first question (the title, where to find newer copies) are left out."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.expandtabs(8)) if p.strip()]
    first = _squeeze(paragraphs[0].strip().splitlines()[0]) if paragraphs else ""
    title = "" if first.endswith("?") else first  # (procps' FAQ begins with its first question)
    blocks: list[tuple[str | None, str | None, list[str]]] = []
    for paragraph in paragraphs:
        indent = len(paragraph) - len(paragraph.lstrip(" "))
        asked = QUESTION_MARK.match(_squeeze(paragraph)) if indent <= 1 and len(paragraph) < 400 else None
        if asked and not ANSWER_MARK.match(paragraph.lstrip()):
            blocks.append((None, asked.group("question"), []))
        elif blocks and not re.fullmatch(r"[-=*\s]+", paragraph):
            blocks[-1][2].append(_squeeze(ANSWER_MARK.sub("", paragraph.lstrip())))
    return title, blocks


def write_documents(source: Path, kind: str, out: Path) -> list[dict[str, Any]]:
    """The FAQ as Markdown without its question headings; the questions with their answers' openings."""
    parse = {"pod": faq_from_pod, "rst": faq_from_rst, "text": faq_from_text}[kind]
    raw = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    title, blocks = parse(raw.decode("utf-8", errors="replace"))
    stem = source.name.split(".")[0]
    if kind == "text":  # FAQ.gz, faq.txt.gz: named by their package
        stem = f"{source.parent.name}-{stem}"
    name = re.sub(r"\W+", "-", stem) + ".md"
    parts = [f"# {title or stem}"]
    asked: list[dict[str, Any]] = []
    last_chapter = None
    for chapter, question, paragraphs in blocks:
        if chapter and chapter != last_chapter:
            parts.append(f"## {chapter}")
            last_chapter = chapter
        parts.extend(paragraphs)
        opening = next((text for text in map(_squeeze, paragraphs) if len(text) >= 20), "")
        if question and question.endswith("?") and opening:
            asked.append({"question": question, "doc": name, "opening": opening[:OPENING_CHARS]})
    (out / name).write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return asked


def fetch(work: Path) -> list[dict[str, Any]]:
    """The packages (`apt-get download`), unpacked under WORK/debs: their FAQ files, version and licence."""
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = []
    for package, (folder, pattern, kind) in PACKAGES.items():
        if not list(debs.glob(f"{package}_*.deb")):
            run = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
            if run.returncode:
                raise SystemExit(f"apt-get download {package} failed: {run.stderr.strip()[-300:]}")
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        unpacked = debs / package
        if not unpacked.exists():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        for source in sorted((unpacked / folder).glob(pattern)):
            if source.name.startswith("index"):
                continue
            found.append(
                {
                    "path": source,
                    "kind": kind,
                    "package": package,
                    "version": deb.name.split("_")[1],
                    "licence": LICENCES[package],
                    "copyright": f"/usr/share/doc/{package}/copyright",
                    "from": "/" + str(source.relative_to(unpacked)),
                }
            )
    return found


def label(kb: Any, asked: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each question through retrieval and `choose.score`, its stretches labelled by its answer's opening."""
    from fieldmind.answers import terms
    from fieldmind.assistant import Assistant

    assistant = Assistant(kb, None, answer_k=TOP_K)
    rows, verdicts = [], {"kept": 0, "answer not among the stretches": 0}
    for item in asked:
        passages = kb.search(item["question"], TOP_K)
        windows = assistant.evidence(item["question"], passages) if passages else []
        labels = [int(w.passage.doc == item["doc"] and item["opening"] in _squeeze(w.text)) for w in windows]
        if not any(labels):
            verdicts["answer not among the stretches"] += 1
            continue
        verdicts["kept"] += 1
        rows.append(
            {
                "id": hashlib.sha256(f"{item['doc']}:{item['question']}".encode()).hexdigest()[:12],
                "kind": "faq",
                "writer": WRITER,
                "question": item["question"],
                "doc": item["doc"],
                "page": None,
                "unit": item["opening"],
                "absent": len(kb.absent_terms(terms.topic_terms(item["question"]))),
                "candidates": [stretch(w, y) for w, y in zip(windows, labels, strict=True)],
            }
        )
    return rows, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-people")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    documents = args.work / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    sources, asked = [], []
    for source in fetch(args.work):
        questions = write_documents(source["path"], source["kind"], documents)
        asked.extend(questions)
        sources.append({k: v for k, v in source.items() if k not in ("path", "kind")} | {"questions": len(questions)})
    kb = _knowledge(args.work)
    kb.ingest(sorted(documents.glob("*.md")))
    rows, verdicts = label(kb, asked)
    kb.close()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / PEOPLE_SET.name).open("w") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    manifest = {"made_by": "models/reader/people.py", "verdicts": verdicts, "documents": sources}
    (args.out / PEOPLE_SOURCES.name).write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(verdicts), file=sys.stderr)


if __name__ == "__main__":
    main()
