"""Fieldmind's own reader: the shipped file is checked before use, a damaged one falls back to the hand-weighted
scores (and doctor says so), the real reader answers from the demo manual, and the pipeline that makes it
(`models/reader/`: questions written by a model, labelled stretches, training, ONNX, int8) runs end to end."""

from __future__ import annotations

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


def damaged_copy(tmp_path: Path) -> ReaderFile:
    shipped = shipped_reader_file()
    copy = tmp_path / "reader" / shipped.path.name
    copy.parent.mkdir()
    shutil.copy(shipped.path, copy)
    shutil.copy(shipped.tokenizer, copy.parent / "tokenizer.json")
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    return ReaderFile(copy, copy.parent / "tokenizer.json", shipped.sha256, shipped.size_bytes)


def test_the_shipped_reader_passes_its_check_and_is_small() -> None:
    shipped = shipped_reader_file()
    assert shipped.path.is_file() and shipped.path.stat().st_size <= 30 * 2**20
    reader = Reader(shipped)
    reader.load()
    assert reader.error is None
    lines = ["Cylinder head bolts | 90 N.m", "Drain the oil."]
    scores = reader.scores("What torque for the cylinder head bolts?", lines)
    assert scores[0] > scores[1]


def test_a_damaged_reader_is_refused_naming_the_file_and_answers_fall_back(tmp_path: Path, writable_kb) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.answers import choose
    from fieldmind.assistant import Assistant

    reader = Reader(damaged_copy(tmp_path))
    with pytest.raises(ReaderError, match=r"reader model is damaged.*reinstall"):
        reader.load()
    assert str(reader.file.path) in (reader.error or "")

    writable_kb.ingest([DEMO_PDF])
    assistant = Assistant(writable_kb, None, reader=reader)
    assert not assistant.reading and assistant.weights == choose.WEIGHTS
    answer = assistant.ask("What torque for the cylinder head bolts?")
    assert answer.found and "90" in answer.quote.shown()  # type: ignore[union-attr]

    missing = Reader(ReaderFile(tmp_path / "gone.onnx", tmp_path / "tokenizer.json", "0" * 64, 1))
    with pytest.raises(ReaderError, match="missing"):
        missing.load()


def test_doctor_says_when_the_reader_is_damaged(tmp_path: Path) -> None:
    from fieldmind.doctor import reader_health
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    services = Services(load_settings())
    assert reader_health(services)["scoring"] == "reader"
    services.reader = Reader(damaged_copy(tmp_path))
    health = reader_health(services)
    assert health["ok"] is False and health["scoring"] == "hand-weighted" and "damaged" in health["error"]


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What torque for the cylinder head bolts?", "90 N.m"),
        ("what does fault code E07 mean?", "Fuel restriction or air in fuel"),
        ("black smoke from the exhaust?", "Overload or clogged air filter"),
        ("hydraulic filter element part number?", None),  # the generator has none: not found
    ],
)
def test_the_real_reader_answers_from_the_demo_manual(writable_kb, question: str, key: str | None) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.answers.reader import shipped_reader
    from fieldmind.assistant import Assistant

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


@pytest.mark.model
@pytest.mark.slow
def test_the_training_pipeline_runs_on_a_tiny_corpus(tmp_path: Path, models_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Questions written by the default model for a few units of a tiny manual, the stretches labelled, a
    cross-encoder trained two steps, exported to ONNX and quantised, then read by the app's own Reader."""
    from fieldmind.llm.catalog import Catalog

    work, out = tmp_path / "work", tmp_path / "out"
    (work / "documents").mkdir(parents=True)
    shutil.copytree(models_dir / "embedder", work / "models" / "embedder")  # exported once per session
    out.mkdir()
    (work / "documents" / "hp20.md").write_text(TINY_MANUAL)
    manifest = tmp_path / "sources.json"
    manifest.write_text(json.dumps({"documents": [{"document": "hp20.md", "licence": "test text"}]}))
    model = Catalog(models_dir).resolve(DEFAULT_MODEL).path
    make = [sys.executable, str(READER_DIR / "make_training_set.py")]
    common = ["--work", str(work), "--out", str(out)]
    run = subprocess.run(
        [*make, "questions", *common, "--manifest", str(manifest), "--units", "4", "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "training-set.jsonl").read_text().splitlines()]
    tried = (out / "progress.jsonl").read_text().splitlines()
    assert len(tried) == 4 and rows, run.stderr[-2000:]
    for row in rows:
        labels = [c["label"] for c in row["candidates"]]
        assert row["question"].endswith("?") and len(labels) >= 2
        assert (sum(labels) == 0) == (row["kind"] == "unanswerable")

    again = subprocess.run(
        [*make, "questions", *common, "--manifest", str(manifest), "--units", "4", "--model", str(model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    keys = [json.loads(line)["unit"] for line in (out / "progress.jsonl").read_text().splitlines()]
    assert len(keys) == 8 and len(keys) == len(set(keys))  # resumed: no unit tried twice

    trained = subprocess.run(
        [
            sys.executable,
            str(READER_DIR / "train.py"),
            "--training-set",
            str(out / "training-set.jsonl"),
            "--out",
            str(out / "reader"),
            "--work",
            str(tmp_path / "train"),
            "--max-steps",
            "2",
            "--batch",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    report = json.loads((out / "reader" / "training-report.json").read_text())
    onnx = out / "reader" / "fieldmind-reader.onnx"
    assert report["export"]["int8_bytes"] == onnx.stat().st_size < report["export"]["fp32_bytes"] / 2
    tokenizer = out / "reader" / "tokenizer.json"
    reader = Reader(ReaderFile(onnx, tokenizer, report["export"]["sha256"], onnx.stat().st_size))
    scores = reader.scores("How much oil does the reservoir hold?", ["The reservoir holds 20 litres.", "Drain it."])
    assert len(scores) == 2 and all(abs(s) < 100 for s in scores)
