"""Fieldmind's own reader: the pipeline that makes it (`models/reader/`: questions written by a model, labelled
stretches, training, ONNX, int8) runs end to end on a tiny corpus; the file it makes is checked by its sha256
before use, a damaged or missing one is refused naming it, answers then fall back to the hand-weighted scores
and doctor says so; and the shipped reader, when one ships, answers from the demo manual."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fieldmind.answers.reader import Reader, ReaderError, ReaderFile, shipped_reader_file

from conftest import DEFAULT_MODEL, DEMO_PDF, ROOT

READER_DIR = ROOT / "models" / "reader"

TINY_MANUAL = """# HP-20 hydraulic power unit

## 3 Specifications

The reservoir holds 20 litres of ISO VG 46 hydraulic oil.
The relief valve is set to 180 bar at the factory.
The pump delivers 12 litres per minute at 1,450 rpm.

## 4 Maintenance

Replace the return filter element HF-20-10 every 500 hours of operation.
Check the oil level at the sight glass every day before starting the unit.
Drain water from the reservoir through the bottom plug once a month.

## 5 Troubleshooting

If the pump is noisy, check the suction line for air leaks and tighten its clamps.
If the oil overheats, clean the cooler fins and check that the fan turns.
"""
FILLED = "The reservoir holds 20 litres of ISO VG 46 hydraulic oil."


def _ships_a_reader() -> bool:
    try:
        return shipped_reader_file().path.is_file()
    except ReaderError:
        return False


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder) -> ReaderFile:  # type: ignore[no-untyped-def]
    """The whole training pipeline on a tiny manual: questions by the default model for a few units (twice, to
    show it resumes), the stretches labelled, a cross-encoder trained two steps, exported and quantised."""
    from fieldmind.llm.catalog import Catalog

    tmp_path = tmp_path_factory.mktemp("reader")
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "documents").mkdir(parents=True)
    shutil.copytree(models_dir / "embedder", work / "models" / "embedder")  # exported once per session
    out.mkdir()
    (work / "documents" / "hp20.md").write_text(TINY_MANUAL)
    manifest = tmp_path / "sources.json"
    manifest.write_text(json.dumps({"documents": [{"document": "hp20.md", "licence": "test text"}]}))
    model = Catalog(models_dir).resolve(DEFAULT_MODEL).path
    make = [sys.executable, str(READER_DIR / "make_training_set.py"), "questions", "--work", str(work)]
    make += ["--out", str(out), "--manifest", str(manifest), "--units", "4", "--model", str(model)]
    for _ in range(2):
        run = subprocess.run(make, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
    people = _module("people")  # a person's question of the same manual, as people.py labels an FAQ's
    kb = people._knowledge(work)
    rows, _ = people.label(kb, [{"question": "How big is the oil tank?", "doc": "hp20.md", "opening": FILLED}])
    kb.close()
    (out / "people-set.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    train = [sys.executable, str(READER_DIR / "train.py"), "--training-set", str(out / "training-set.jsonl")]
    train += ["--people", str(out / "people-set.jsonl")]
    train += ["--out", str(out / "reader"), "--work", str(tmp_path / "train"), "--max-steps", "2", "--batch", "4"]
    train += ["--loss", "residual", "--curve-steps", "1"]  # the training the rounds since 31 use
    trained = subprocess.run(
        train,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    report = json.loads((out / "reader" / "training-report.json").read_text())
    onnx = out / "reader" / "fieldmind-reader.onnx"
    return ReaderFile(onnx, out / "reader" / "tokenizer.json", report["export"]["sha256"], onnx.stat().st_size)


@pytest.mark.model
@pytest.mark.slow
def test_the_training_pipeline_makes_a_small_reader_the_app_can_run(tiny_reader: ReaderFile) -> None:
    out = tiny_reader.path.parent.parent
    rows = [json.loads(line) for line in (out / "training-set.jsonl").read_text().splitlines()]
    keys = [json.loads(line)["unit"] for line in (out / "progress.jsonl").read_text().splitlines()]
    assert len(keys) == 8 and len(set(keys)) == 8  # two runs of 4 units: the second resumed, none tried twice
    assert rows
    for row in rows:
        labels = [c["label"] for c in row["candidates"]]
        assert row["question"].endswith("?") and len(labels) >= 2
        assert (sum(labels) == 0) == (row["kind"] == "unanswerable")
        assert row["writer"].endswith(".gguf")  # the model that wrote it, as named on the command line
    report = json.loads((tiny_reader.path.parent / "training-report.json").read_text())
    assert report["questions_by_writer"] == {rows[0]["writer"]: len(rows), "people": 1}
    (point,) = report["dev_curve"]  # measured after step 1 of 2, by writer
    assert point["step"] == 1 and len(point) > 1 and all(0 <= v <= 1 for k, v in point.items() if k != "step")
    assert report["export"]["int8_bytes"] == tiny_reader.size_bytes < report["export"]["fp32_bytes"] / 2
    assert tiny_reader.size_bytes <= 30 * 2**20
    reader = Reader(tiny_reader)
    scores = reader.scores("How much oil does the reservoir hold?", ["The reservoir holds 20 litres.", "Drain it."])
    assert len(scores) == 2 and all(abs(s) < 100 for s in scores) and reader.error is None
    train = [sys.executable, str(READER_DIR / "train.py"), "--training-set", str(out / "training-set.jsonl")]
    train += ["--people", str(out / "people-set.jsonl"), "--writers", "people,qwen-typo", "--out", str(out / "no")]
    refused = subprocess.run(train, capture_output=True, text=True, timeout=120)  # a misspelt writer: said so
    assert refused.returncode != 0 and "no questions by qwen-typo" in refused.stderr
    assert rows[0]["writer"] in refused.stderr and not (out / "no").exists()


def _module(name: str):  # type: ignore[no-untyped-def]
    """A script of models/reader/, imported as the scripts import each other."""
    if str(READER_DIR) not in sys.path:
        sys.path.insert(0, str(READER_DIR))
    spec = importlib.util.spec_from_file_location(name, READER_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_questions_lose_the_writers_talk_of_the_manual_text() -> None:
    """The writer says "in the manual text" (it speaks of its prompt); nobody asks a manual so."""
    maker = _module("make_training_set")
    assert maker.plain("What is the default port in the manual text?") == "What is the default port?"
    assert maker.plain("What does --quiet do, according to the given text?") == "What does --quiet do?"
    assert maker.plain("Which file holds the options in this manual?") == "Which file holds the options?"
    assert maker.plain("What does the manual say about locks?") == "What does the manual say about locks?"
    assert maker.plain("What is the text encoding?") == "What is the text encoding?"


FAQ_POD = """=head1 NAME

pumpfaq - Pump questions

=head1 Oil

=head2 How much oil goes in the tank?

The reservoir holds C<20 litres> of ISO VG 46 oil. Fill it to the upper mark.

=head2 Why does the pump whine?

Air is in the suction line: bleed it at the E<lt>topE<gt> screw.

=head1 AUTHOR AND COPYRIGHT

Somebody.
"""

FAQ_RST = """===========
Filters FAQ
===========

.. contents::

Changing filters
================

When should I change the return filter?
---------------------------------------

Every 500 hours, or when :ref:`the indicator <indicator>` turns red.

Which element fits the ``HP-20``?
---------------------------------

The element HF-20-10 fits it.
"""

FAQ_TEXT = """
Pump FAQ
========

Q:  How often is the oil changed?

A:  Every 2000 hours. Drain it warm
    through the bottom plug.

 2. Can the pump run dry? Briefly?

    No. Running dry for more than 10 seconds scores the vanes.

Why is the motor hot?

\tThe fan cover is blocked: clean it. Does it still overheat? Call service.
"""


FAQ_NUMBERED = """Pump FAQ
********

1 Oil
*****

1.1 How much oil goes in the tank?
==================================

Twenty litres of ISO VG 46.
   Fill it to the upper mark. Is that all? Yes.

1.2 Legalese
============

This document is free.

2. What is the seal kit?
~~~~~~~~~~~~~~~~~~~~~~~~
  SK-20, for both shafts.
""" + "".join(f"\n3.{n} Question {n}?\n========\n\nAnswer {n} of the list, with its twenty words.\n" for n in range(8))

FAQ_QA = """Pump questions!!
----------------
Q) Help! The pump stops after a minute.
A1) The thermal switch trips: check the fan.
A2) Or the filter is blocked.
Q: Can I run it on 110 V?
A: No: it runs on 230 V only, at 50 Hz.
"""

FAQ_HTML = """<html><head><title>Pump FAQ</title></head><body><h1>Pump FAQ</h1>
<ol><li><a href="#q1">1.1. How often is the belt changed?</a></li>
<li><a href="#q2">M2. The pump is loud after I changed the belt, and it smells hot.</a></li>
<li><a href="#chapter">Belts</a></li><li><a href="#q3"><strike>Why is it red?</strike></a></li></ol>
<h2 id="chapter">Belts</h2>
<h3><a name="q1"></a>1.1. How often is the belt changed?</h3>
<blockquote><p>Every <b>800 hours</b>, or when it cracks.</p><p>Use belt B-20.</p></blockquote>
<a name="q2"></a><p><b>M2. The pump is loud after I changed the belt, and it smells hot.</b></p>
<blockquote>The belt is too tight: loosen it a turn.</blockquote>
<a name="q3"></a><p>Why is it red?</p><p>Paint.</p>
</body></html>"""


def test_faq_formats_people_write(tmp_path: Path) -> None:
    """people.py reads the FAQ layouts Debian's packages carry: numbered and underlined (R, mdadm), "Q)" with
    "A1)" (vsftpd), and HTML whose contents list links each question to its answer (fetchmail, nano, SQLite)."""
    people = _module("people")
    documents = tmp_path / "documents"
    documents.mkdir()
    for name, text in (("FAQ", FAQ_NUMBERED), ("FAQ.txt", FAQ_QA), ("faq.html", FAQ_HTML)):
        (tmp_path / name).write_text(text)
    numbered = people.write_documents(tmp_path / "FAQ", "text", documents, "pump-doc")
    assert [(a["question"], a["opening"]) for a in numbered[:2]] == [
        ("How much oil goes in the tank?", "Twenty litres of ISO VG 46. Fill it to the upper mark. Is th"),
        ("What is the seal kit?", "SK-20, for both shafts."),
    ]
    assert len(numbered) == 10  # numbered questions only: "Is that all? Yes." is an answer's line
    text = (documents / "pump-doc-FAQ.md").read_text()
    assert "## Oil" in text and "This document is free." in text and "?" not in text.replace("Is that all?", "")
    told = people.write_documents(tmp_path / "FAQ.txt", "text", documents, "pump-qa")
    assert [(a["question"], a["opening"]) for a in told] == [
        ("Help! The pump stops after a minute.", "The thermal switch trips: check the fan."),
        ("Can I run it on 110 V?", "No: it runs on 230 V only, at 50 Hz."),
    ]  # a question marked "Q)" may tell a problem
    html = people.write_documents(tmp_path / "faq.html", "html", documents, "pump-html")
    assert [(a["question"], a["opening"]) for a in html] == [
        ("How often is the belt changed?", "Every 800 hours, or when it cracks."),
        (
            "The pump is loud after I changed the belt, and it smells hot.",
            "The belt is too tight: loosen it a turn.",
        ),
    ]  # (a struck-out question, and a chapter's link, are not asked)
    page = (documents / "pump-html-faq.md").read_text()
    assert page.startswith("# Pump FAQ") and "## Belts" in page and "Use belt B-20." in page
    assert "How often" not in page and "is loud" not in page


def test_faq_questions_are_asked_of_their_own_answers(tmp_path: Path, models_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """people.py: an FAQ's question headings are taken out of its text and asked of it; the stretch that holds
    the answer's opening is the one labelled 1."""
    people = _module("people")
    (tmp_path / "pumpfaq.pod").write_text(FAQ_POD)
    (tmp_path / "filters.rst.txt").write_text(FAQ_RST)
    documents = tmp_path / "work" / "documents"
    documents.mkdir(parents=True)
    asked = people.write_documents(tmp_path / "pumpfaq.pod", "pod", documents)
    asked += people.write_documents(tmp_path / "filters.rst.txt", "rst", documents)
    (tmp_path / "pump-tools").mkdir()
    (tmp_path / "pump-tools" / "FAQ.gz").write_bytes(gzip.compress(FAQ_TEXT.encode()))
    plain = people.write_documents(tmp_path / "pump-tools" / "FAQ.gz", "text", documents)
    assert [(a["question"], a["opening"]) for a in plain] == [
        ("How often is the oil changed?", "Every 2000 hours. Drain it warm through the bottom plug."),
        ("Can the pump run dry? Briefly?", "No. Running dry for more than 10 seconds scores the vanes."),
        ("Why is the motor hot?", "The fan cover is blocked: clean it. Does it still overheat? Call service."[:60]),
    ]  # (an answer's opening: its first 60 characters)
    assert (documents / "pump-tools-FAQ.md").read_text().startswith("# Pump FAQ\n\nEvery 2000 hours.")
    (documents / "pump-tools-FAQ.md").unlink()
    pump, filters = (documents / "pumpfaq.md").read_text(), (documents / "filters.md").read_text()
    assert [a["question"] for a in asked] == [
        "How much oil goes in the tank?",
        "Why does the pump whine?",
        "When should I change the return filter?",
        "Which element fits the HP-20?",
    ]
    assert "?" not in pump + filters and "Somebody" not in pump and ".. contents" not in filters
    assert pump.startswith("# pumpfaq - Pump questions\n\n## Oil\n\nThe reservoir holds 20 litres of ISO VG 46")
    assert "at the <top> screw" in pump and "when the indicator turns red" in filters
    assert asked[2]["opening"] == "Every 500 hours, or when the indicator turns red."
    shutil.copytree(models_dir / "embedder", tmp_path / "work" / "models" / "embedder")
    kb = people._knowledge(tmp_path / "work")
    kb.ingest(sorted(documents.glob("*.md")))
    rows, verdicts = people.label(kb, asked)
    kb.close()
    assert verdicts["kept"] == len(rows) >= 3
    for row in rows:
        assert row["writer"] == "people" and row["kind"] == "faq" and len(row["candidates"]) >= 2
        assert any(c["label"] for c in row["candidates"])
        assert not any(row["unit"] in " ".join(c["lines"].split()) for c in row["candidates"] if not c["label"])


def test_a_stretch_inside_an_faq_answer_answers_it() -> None:
    """people.py: an FAQ's answer is often several paragraphs; a stretch from their middle answers its question as
    the opening does, and one that is mostly the next answer does not."""
    people = _module("people")
    item = {
        "opening": "Drain the oil warm through the bottom plug.",
        "answer": "Drain the oil warm through the bottom plug. Refill with 20 litres of VG 46. "
        "Run the pump for a minute and check the level again; top it up to the upper mark.",
    }
    assert people.answers("Drain the oil warm through the bottom plug. Refill with 20 litres", item)
    assert people.answers("Refill with 20 litres of VG 46. Run the pump for a minute and check the level again;", item)
    assert not people.answers("top it up to the upper mark. The seal kit is SK-20. It fits both shafts.", item)
    assert not people.answers("", item)


def test_an_faq_package_without_its_faq_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that no longer holds its FAQ where PACKAGES says is refused naming the package and the path, not
    left out in silence."""
    people = _module("people")
    build = tmp_path / "build"
    (build / "DEBIAN").mkdir(parents=True)
    (build / "usr" / "share" / "doc" / "pump-faq").mkdir(parents=True)
    (build / "usr" / "share" / "doc" / "pump-faq" / "README").write_text("No questions here.\n")
    control = "Package: pump-faq\nVersion: 1.0\nArchitecture: all\nMaintainer: Nobody <n@example.org>\n"
    (build / "DEBIAN" / "control").write_text(control + "Description: a test package\n")
    (tmp_path / "debs").mkdir()
    deb = tmp_path / "debs" / "pump-faq_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(build), str(deb)], check=True, capture_output=True)
    monkeypatch.setattr(people, "PACKAGES", {"pump-faq": ("usr/share/doc/pump-faq", "FAQ.gz", "text")})
    with pytest.raises(SystemExit, match=r"pump-faq_1.0_all.deb holds no /usr/share/doc/pump-faq/FAQ.gz"):
        people.fetch(tmp_path)


def test_an_faq_package_that_cannot_be_fetched_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    people = _module("people")
    monkeypatch.setattr(people, "PACKAGES", {"no-such-fieldmind-faq": ("usr/share/doc", "FAQ", "text")})
    with pytest.raises(SystemExit, match=r"apt-get download no-such-fieldmind-faq failed: .*no-such-fieldmind-faq"):
        people.fetch(tmp_path)


def _damaged(reader_file: ReaderFile, tmp_path: Path) -> ReaderFile:
    copy = tmp_path / "damaged" / reader_file.path.name
    copy.parent.mkdir()
    shutil.copy(reader_file.tokenizer, copy.parent / "tokenizer.json")
    data = bytearray(reader_file.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    return ReaderFile(copy, copy.parent / "tokenizer.json", reader_file.sha256, reader_file.size_bytes)


@pytest.mark.model
@pytest.mark.slow
def test_a_damaged_reader_is_refused_naming_the_file_and_answers_fall_back(
    tiny_reader: ReaderFile, tmp_path: Path, writable_kb
) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.answers import choose
    from fieldmind.assistant import Assistant

    good = Assistant(writable_kb, None, reader=Reader(tiny_reader))
    assert good.reading and good.weights == choose.READ_WEIGHTS
    reader = Reader(_damaged(tiny_reader, tmp_path))
    with pytest.raises(ReaderError, match=r"reader model is damaged.*reinstall"):
        reader.load()
    assert str(reader.file.path) in (reader.error or "")

    writable_kb.ingest([DEMO_PDF])
    assistant = Assistant(writable_kb, None, reader=reader)
    assert not assistant.reading and assistant.weights == choose.WEIGHTS
    answer = assistant.ask("What torque for the cylinder head bolts?")
    assert answer.found and "90" in answer.quote.shown()  # type: ignore[union-attr]
    assert all(w.read is None for w in assistant.evidence("What torque for the cylinder head bolts?", answer.passages))

    missing = Reader(ReaderFile(tmp_path / "gone.onnx", tmp_path / "tokenizer.json", "0" * 64, 1))
    with pytest.raises(ReaderError, match="missing"):
        missing.load()


@pytest.mark.model
@pytest.mark.slow
def test_doctor_says_whether_the_reader_scores_the_answers(tiny_reader: ReaderFile, tmp_path: Path) -> None:
    from fieldmind.doctor import reader_health
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    services = Services(load_settings())
    services.reader = Reader(tiny_reader)
    assert reader_health(services)["scoring"] == "reader"
    services.reader = Reader(_damaged(tiny_reader, tmp_path))
    health = reader_health(services)
    assert health["ok"] is False and health["scoring"] == "hand-weighted" and "damaged" in health["error"]
    services.reader = None
    assert reader_health(services)["scoring"] == "hand-weighted"
    services.close()


@pytest.mark.skipif(not _ships_a_reader(), reason="no reader ships yet: none has beaten the hand-weighted scores")
@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What torque for the cylinder head bolts?", "90 N.m"),
        ("what does fault code E07 mean?", "Fuel restriction or air in fuel"),
        ("black smoke from the exhaust?", "Overload or clogged air filter"),
        ("hydraulic filter element part number?", None),  # the generator has none: not found
    ],
)
def test_the_shipped_reader_answers_from_the_demo_manual(writable_kb, question: str, key: str | None) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.answers.reader import shipped_reader
    from fieldmind.assistant import Assistant

    shipped = shipped_reader_file()
    assert shipped.path.stat().st_size <= 30 * 2**20
    writable_kb.ingest([DEMO_PDF])
    assistant = Assistant(writable_kb, None, reader=shipped_reader())
    assert assistant.reading
    answer = assistant.ask(question)
    windows = assistant.evidence(question, answer.passages)
    assert all(w.read is not None for w in windows)
    if key is None:
        assert not answer.found, answer.to_json()
        return
    assert answer.found, answer.to_json()
    assert key in answer.quote.shown()  # type: ignore[union-attr]
