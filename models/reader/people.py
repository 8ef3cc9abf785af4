"""Questions people wrote: the FAQs of documentation packages, each question asked of its own answers.

    python models/reader/people.py                # → models/reader/people-set.jsonl (+ people-sources.json)

Every question the writers make is a small model's way of asking, and a reader trained on them learns it
(docs/quality.md, round 33). An FAQ is a list of questions that people asked of one program, each above the
paragraphs that answer it. So: the FAQs of two Debian documentation packages (`perl-doc`: perlfaq1–9, in POD;
`python3.11-doc`: the Python FAQ, in reStructuredText), the plain-text FAQs of nine more (`xz-utils`, `zlib1g-dev`,
`procps`, `r-base-core`: the R FAQ, `zsh-common`, `mdadm`, `lftp`, `screen`, `vsftpd`) and the HTML FAQs of three
(`fetchmail`, `nano`, `sqlite3-doc`), fetched with `apt-get download` as Debian's other documentation packages are;
their question headings taken out and kept aside, the rest written as Markdown (the FAQ's title and its chapters as
headings, the answers as paragraphs) and read by Fieldmind's own `KnowledgeBase`. Each question then goes through
retrieval and `choose.score` as a user's would, and the stretches are labelled like the training set's: 1 when a
stretch holds its answer's opening or lies mostly inside its answer (see INSIDE_SHARE), 0 otherwise (the answers
before and after it, other chapters). Same record as
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
    "r-base-core": ("usr/share/R/doc", "FAQ", "text"),
    "zsh-common": ("usr/share/doc/zsh-common", "FAQ.gz", "text"),
    "mdadm": ("usr/share/doc/mdadm", "FAQ.gz", "text"),
    "lftp": ("usr/share/doc/lftp", "FAQ", "text"),
    "screen": ("usr/share/doc/screen", "FAQ.gz", "text"),
    "vsftpd": ("usr/share/doc/vsftpd", "FAQ.gz", "text"),
    "fetchmail": ("usr/share/doc/fetchmail", "fetchmail-FAQ.html", "html"),
    "nano": ("usr/share/doc/nano", "faq.html", "html"),
    "sqlite3-doc": ("usr/share/doc/sqlite3", "faq.html", "html"),
}
LICENCES = {
    "perl-doc": "GPL-1+ or Artistic (the package copyright's `Files: *`; perlfaq: the same terms as Perl)",
    "python3.11-doc": "PSF-2.0 (the Python Software Foundation License, in the package copyright)",
    "xz-utils": "PD (the package copyright's `Files: *`: put in the public domain)",
    "zlib1g-dev": "Zlib (the package copyright's `Files: *`)",
    "procps": "LGPL-2.1+ (the package copyright's `Files: *`)",
    "r-base-core": "GPL-2+ (the R FAQ's own Legalese section)",
    "zsh-common": "Zsh (the package copyright's `Files: *`)",
    "mdadm": "GPL-2+ (the package copyright's `Files: *`)",
    "lftp": "GPL-3 (the package copyright's `Files: *`)",
    "screen": "GPL-3+ (the package copyright's `Files: *`)",
    "vsftpd": "GPL-2 with SSL exception (the package copyright's `Files: *`)",
    "fetchmail": "GPL-2+ with OpenSSL exception (the package copyright's `Files: *`)",
    "nano": "GPL-3+ (the package copyright's `Files: *`)",
    "sqlite3-doc": "public-domain (the package copyright's `Files: *`)",
}
OPENING_CHARS = 60
"""An answer's opening: its first this many characters (spaces squeezed) mark the stretch that holds it."""
INSIDE_SHARE = 0.5
"""A stretch also answers its question when at least this share of it (its sentences, by characters) is the answer's
own text: an FAQ's answer is often several paragraphs, and a stretch from their middle answers as well as the first
lines do. (Until round 37 only the opening counted: today's best stretch then held the answer for 84 of the 178
development questions, and lay inside it for 142 — a reader was taught to prefer an answer's first lines.)"""


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


NUMBER_MARK = r"\(?[A-Z]?\d+[a-z]?(?:\.\d+)*[.:)]?\s+"
"""A question's number: "2.", "1.7:", "4b.", "2.1 ", "(3) ", "G1. "."""
NUMBER = re.compile("^" + NUMBER_MARK)
QUESTION_MARK = re.compile(r"^(?P<mark>Q[:.)]\s*|" + NUMBER_MARK + r")?(?P<question>\S.*\?)$", re.DOTALL)
TOLD_MARK = re.compile(r"^(?P<mark>Q[:.)]\s*)(?P<question>\S.{19,})$", re.DOTALL)
ANSWER_MARK = re.compile(r"^A\d*[:.)]\s+")
UNDERLINE = re.compile(r"\n\s*([=*~\-])\1{3,}\s*$")
NUMBERED = 10
"""A plain-text FAQ with this many numbered questions ("2.1 What is R?") asks only numbered ones, so that an
answer's paragraph at the margin that happens to end in "?" is not taken for a question."""


def faq_from_text(text: str) -> tuple[str, list[tuple[str | None, str | None, list[str]]]]:
    """(title, [(chapter, question, paragraphs)]) of a plain-text FAQ: a question is a paragraph at the margin (or
    one space in) that ends in "?", marked "Q:" or "Q)" or numbered ("2.", "1.7:", "4b.", "2.1") or not, and may be
    underlined; its answer the indented (or "A:") paragraphs after it. A heading underlined with "*" is a chapter
    (the R FAQ's); another underlined heading that asks nothing ends the answer before it. A question marked "Q:" may
    tell a problem instead of asking ("Screen gets the terminal size wrong"). Paragraphs before the
    first question (the title, where to find newer copies) are left out."""
    text = re.sub(r"\n(?=[QA]\d*[:.)]\s)", "\n\n", text.expandtabs(8))  # Q: and A: lines begin paragraphs
    text = re.sub(r"^(\s*([=*~\-])\2{3,}[ \t]*)\n(?=.)", r"\1\n\n", text, flags=re.MULTILINE)  # so does what follows
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    first = _squeeze(paragraphs[0].strip().splitlines()[0]) if paragraphs else ""
    title = "" if first.endswith("?") else first  # (procps' FAQ begins with its first question)

    def asked(paragraph: str) -> re.Match[str] | None:
        indent = len(paragraph) - len(paragraph.lstrip(" "))
        heading = UNDERLINE.sub("", paragraph).strip()
        if indent > 1 or len(heading) >= 400 or heading.count("\n") > 3 or ANSWER_MARK.match(heading):
            return None
        words = _squeeze(heading)
        if re.search(r"\?\s+\(?[A-Z]?\d+[a-z]?(?:\.\d+)*[.:)]\s", words):  # (a number that is surely one)
            return None  # a contents list: one numbered question after another
        return QUESTION_MARK.match(words) or TOLD_MARK.match(words)  # marked "Q:", a problem may be told

    questions = [asked(paragraph) for paragraph in paragraphs]
    numbered = sum(bool(question and question.group("mark")) for question in questions) >= NUMBERED
    blocks: list[tuple[str | None, str | None, list[str]]] = []
    chapter: str | None = None
    for paragraph, question in zip(paragraphs, questions, strict=True):
        underline = UNDERLINE.search(paragraph)
        if question and (question.group("mark") or not numbered):
            blocks.append((chapter, question.group("question"), []))
        elif underline and paragraph.count("\n") == 1:  # a heading that asks nothing
            if underline.group(1) == "*":
                chapter = re.sub(r"^\d+\s+", "", _squeeze(UNDERLINE.sub("", paragraph)))
            if blocks:
                blocks.append((chapter, None, []))
        elif blocks and not re.fullmatch(r"[-=*\s]+", paragraph):
            blocks[-1][2].append(_squeeze(ANSWER_MARK.sub("", paragraph.lstrip())))
    return title, blocks


HTML_BLOCKS = {"p", "pre", "li", "dd", "dt", "blockquote", "div", "ul", "ol", "dl", "table", "tr", "td", "th"}
HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


def _listed_question(text: str) -> str | None:
    """A contents link's words, as a question: numbering taken off; a question, or a problem told in six words or
    more ("I've declared local names, but all my multidrop mail is going to root anyway.") — not a chapter's name."""
    if re.match(r"[A-Z]\.\s", _squeeze(text)):
        return None  # a lettered chapter: "F. Fetchmail configuration file grammar questions"
    text = NUMBER.sub("", _squeeze(text))
    return text if text.endswith("?") or len(text.split()) >= 6 else None


def faq_from_html(text: str) -> tuple[str, list[tuple[str | None, str | None, list[str]]]]:
    """(title, [(chapter, question, paragraphs)]) of an HTML FAQ: its contents list links each question to an
    anchor; the answer is what follows the anchor up to the next one, the anchor's own heading left out. Headings
    that are no question are chapters."""
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(text, "html.parser")
    title = _squeeze(soup.title.get_text()) if soup.title else ""
    for junk in soup(["script", "style", "head"]):
        junk.decompose()
    for line_break in soup("br"):
        line_break.replace_with("\n")
    listed: dict[str, str] = {}
    for link in soup.find_all("a", href=True):
        question = _listed_question(link.get_text())
        if link["href"].startswith("#") and question and link.find_parent("strike") is None and not link.find("strike"):
            listed.setdefault(link["href"][1:], question)
    stream: list[tuple[str, str]] = []  # ("question" | "heading" | "text", words) in reading order
    loose: list[str] = []  # inline words between blocks

    def anchors(tag: Tag, deep: bool = True) -> list[str]:
        """The listed questions whose anchors are this tag (and, deep, the tags inside it), each taken once."""
        found = []
        for target in [tag, *(tag.find_all(True) if deep else [])]:
            name = target.get("id") or target.get("name")
            if isinstance(name, str) and name in listed and not target.get("href"):
                found.append(listed.pop(name))
        return found

    def flush() -> None:
        if _squeeze("".join(loose)):
            stream.append(("text", _squeeze("".join(loose))))
        loose.clear()

    def walk(tag: Tag) -> None:
        for child in tag.children:
            if isinstance(child, NavigableString):
                loose.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            leaf = child.find(list(HTML_BLOCKS | HTML_HEADINGS)) is None or child.name in HTML_HEADINGS
            if not leaf:  # a block of blocks: its own anchor, then what it holds
                flush()
                stream.extend(("question", question) for question in anchors(child, deep=False))
                walk(child)
                flush()
                continue
            questions = anchors(child)
            if questions or child.name in HTML_BLOCKS | HTML_HEADINGS:
                flush()
            stream.extend(("question", question) for question in questions)
            if child.name not in HTML_BLOCKS | HTML_HEADINGS:
                loose.append(child.get_text())
                continue
            words = child.get_text() if child.name == "pre" else _squeeze(child.get_text())
            if words.strip():
                stream.append(("heading" if child.name in HTML_HEADINGS else "text", words.strip()))
        flush()

    walk(soup.body or soup)
    blocks: list[tuple[str | None, str | None, list[str]]] = []
    chapter: str | None = None
    for kind, words in stream:
        if kind == "question":
            blocks.append((chapter, words, []))
        elif blocks and blocks[-1][1] and not blocks[-1][2] and _squeeze(words).endswith(blocks[-1][1][-30:]):
            continue  # the anchor's own heading: the question again
        elif kind == "heading":
            chapter = NUMBER.sub("", words)
            if blocks:
                blocks.append((chapter, None, []))
        elif blocks:
            blocks[-1][2].append(words)
    return title, blocks


def write_documents(source: Path, kind: str, out: Path, package: str | None = None) -> list[dict[str, Any]]:
    """The FAQ as Markdown without its question headings; the questions with their answers' openings."""
    parse = {"pod": faq_from_pod, "rst": faq_from_rst, "text": faq_from_text, "html": faq_from_html}[kind]
    raw = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    title, blocks = parse(raw.decode("utf-8", errors="replace"))
    stem = source.name.split(".")[0]
    if kind in ("text", "html"):  # FAQ.gz, faq.html: named by their package
        stem = f"{package or source.parent.name}-{stem}"
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
        if question and (question.endswith("?") or kind in ("text", "html")) and opening:
            answer = " ".join(map(_squeeze, paragraphs))
            asked.append({"question": question, "doc": name, "opening": opening[:OPENING_CHARS], "answer": answer})
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
        if not any((unpacked / folder).glob(pattern)):  # a newer package moved or renamed its FAQ
            raise SystemExit(f"{deb.name} holds no /{folder}/{pattern}: correct PACKAGES[{package!r}] in {__file__}")
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


def answers(text: str, item: dict[str, Any]) -> bool:
    """Whether a stretch of the question's document answers it: it holds the answer's opening, or at least
    INSIDE_SHARE of its sentences (by characters) are the answer's own."""
    words = _squeeze(text)
    if item["opening"] in words:
        return True
    sentences = [s for s in re.split(r"(?<=[.!?:;])\s+", words) if s]
    inside = sum(len(s) for s in sentences if s in item.get("answer", ""))
    return inside >= INSIDE_SHARE * sum(len(s) for s in sentences) > 0


def label(kb: Any, asked: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Each question through retrieval and `choose.score`, its stretches labelled by its answer (`answers`)."""
    from fieldmind.answers import terms
    from fieldmind.assistant import Assistant

    assistant = Assistant(kb, None, answer_k=TOP_K)
    rows, verdicts = [], {"kept": 0, "answer not among the stretches": 0}
    for item in asked:
        passages = kb.search(item["question"], TOP_K)
        windows = assistant.evidence(item["question"], passages) if passages else []
        labels = [int(w.passage.doc == item["doc"] and answers(w.text, item)) for w in windows]
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
        questions = write_documents(source["path"], source["kind"], documents, source["package"])
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
