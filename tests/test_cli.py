"""The command-line contract of DESIGN.md: arguments, JSON shapes, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DEMO_PDF, fieldmind_command
from helpers import corrupt_pdf, junk


def run(*args: str, stdin: str | None = None, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--home", str(home)] if home else []
    return subprocess.run(
        [*fieldmind_command(), *args, *extra], input=stdin, capture_output=True, text=True, timeout=300
    )


def test_version_is_quick_and_plain() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("fieldmind, version ")


def test_usage_errors_exit_2() -> None:
    assert run("ingest").returncode == 2
    assert run("search", "x", "-k", "zero").returncode == 2
    assert run("no-such-command").returncode == 2
    empty = run("ask", "  ")
    assert empty.returncode == 2 and "the question is empty" in empty.stderr


def test_sync_json_prints_json_when_the_sync_fails(tmp_path: Path, isolated_home: Path) -> None:
    out = run("sync", "--json", "--source", str(tmp_path / "no-stick-here"))
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert result["applied"] == [] and result["up_to_date"] is False and "no-stick-here" in result["error"]


def test_ingest_reports_bad_files_and_exits_1(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    shutil.copy(DEMO_PDF, folder / "generator.pdf")
    corrupt_pdf(folder / "broken.pdf")
    junk(folder / "random.txt")
    out = run("ingest", str(folder), "--json", home=isolated_home)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert {k: report[k] for k in ("added", "updated", "unchanged", "removed")} == {
        "added": 1,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
    }
    assert report["chunks"] > 5
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert "not a readable PDF" in failed["broken.pdf"]
    assert "binary data" in failed["random.txt"]

    again = json.loads(run("ingest", str(folder / "generator.pdf"), "--json", home=isolated_home).stdout)
    assert again["unchanged"] == 1 and again["chunks"] == 0

    docs = json.loads(run("docs", "--json", home=isolated_home).stdout)
    assert [(d["name"], d["pages"], d["source"]) for d in docs] == [("generator.pdf", 10, "local")]
    assert set(docs[0]) == {"id", "name", "path", "pages", "chunks", "source", "ocr_pages", "blank_pages"} | {
        "doc_id",
        "title",
        "revision",
        "effective",
        "tags",
        "superseded",
    }


def test_files_of_other_types_in_a_folder_are_skipped_and_the_ingest_succeeds(
    tmp_path: Path, isolated_home: Path
) -> None:
    """`fieldmind ingest ~/manuals` over a folder with pictures and archives beside the manuals exits 0 (a cron
    job or a script over the folder does not fail), and says what it skipped."""
    folder = tmp_path / "manuals"
    folder.mkdir()
    shutil.copy(DEMO_PDF, folder / "generator.pdf")
    junk(folder / "photo.jpg")
    junk(folder / "spares.zip")
    out = run("ingest", str(folder), home=isolated_home)
    assert out.returncode == 0, out.stderr
    assert "skipped 2 file(s) of a type Fieldmind does not read (.jpg, .zip)" in out.stderr
    assert "failed" not in out.stderr
    again = json.loads(run("ingest", str(folder), "--json", home=isolated_home).stdout)
    assert again["unchanged"] == 1 and sorted(Path(p).name for p in again["skipped"]) == ["photo.jpg", "spares.zip"]


def test_a_missing_path_is_a_clear_error(isolated_home: Path) -> None:
    out = run("ingest", "/no/such/manual.pdf", home=isolated_home)
    assert out.returncode == 1
    assert "/no/such/manual.pdf: no such file or folder" in out.stderr


def test_search_json_and_stdin_lines(isolated_home: Path) -> None:
    run("ingest", str(DEMO_PDF), home=isolated_home)
    hits = json.loads(run("search", "torque of the oil drain plug", "-k", "3", "--json", home=isolated_home).stdout)
    assert len(hits) == 3
    assert set(hits[0]) == {
        "doc",
        "doc_id",
        "revision",
        "page",
        "section",
        "text",
        "score",
        "ocr",
        "ocr_confidence",
    } | {"index_id", "title", "effective", "tags"}
    assert any("35 N.m" in h["text"] for h in hits)
    out = run("search", "-", "-k", "2", stdin="fault code E07\nfuel filter part number\n", home=isolated_home)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all(len(json.loads(line)) == 2 for line in lines)


def test_remove_by_name(isolated_home: Path) -> None:
    run("ingest", str(DEMO_PDF), home=isolated_home)
    out = run("remove", DEMO_PDF.name, "--json", home=isolated_home)
    assert json.loads(out.stdout) == {"removed": 1}
    assert json.loads(run("docs", "--json", home=isolated_home).stdout) == []
    assert run("remove", "nothing.pdf", home=isolated_home).returncode == 1


@pytest.mark.model
def test_eval_prints_the_confusion_table_and_what_the_short_answers_said(tmp_path: Path, isolated_home: Path) -> None:
    """`fieldmind eval` over the demo manual's 13 verified questions, with the small model writing the short
    answers: retrieval, the outcome of every question per kind, and what each found answer's short answer did."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DEMO_PDF, docs / DEMO_PDF.name)
    qa = Path(__file__).parent / "data" / "demo" / "qa.jsonl"
    args = ["eval", str(qa), "--docs", str(docs), "--model", "gemma-3-270m"]
    report = json.loads(run(*args, "--json", home=isolated_home).stdout)
    every = report["confusion"]["all"]
    assert sum(every.values()) == 13 and every["not found (rightly)"] == 3  # the 3 the manual does not answer
    assert every["wrong"] == 0 and every["right"] >= 9
    assert report["retrieval"]["overall"]["recall@5"] == 1.0
    said = report["short_answers"]
    assert set(said) == {"holds the key", "misses the key", "over a wrong quote", "not shown"}
    found = [q for q in report["questions"] if q["found"]]
    assert sum(said.values()) == len(found) and all(q["short_answer"] in said for q in found)
    table = run(*args, home=isolated_home)
    assert table.returncode == 0, table.stderr
    assert "not found (answerable)" in table.stdout
    assert "short answers of the found answers: holds the key:" in table.stdout
    counted = [line for line in table.stderr.splitlines() if line.startswith("eval: ")]
    assert counted[0].startswith("eval: 1/13 questions, about ") and counted[0].endswith(" left")  # never silent
    assert counted[-1] == "eval: 13/13 questions"


def test_doctor_speaks_to_people_and_json_to_scripts(isolated_home: Path) -> None:
    """Plain lines by default (it printed raw JSON), without loading any model (it took 18 s measuring them)."""
    run("ingest", str(DEMO_PDF), home=isolated_home)
    people = run("doctor", home=isolated_home)
    assert people.returncode == 0, people.stderr
    assert "{" not in people.stdout  # no JSON for people
    assert "Index      ok 1 documents, 32 passages, 32 vectors" in people.stdout
    assert "* qwen2.5-coder-0.5b-instruct" in people.stdout and "491 MB" in people.stdout
    assert "speed: doctor --measure" in people.stdout
    assert json.loads((isolated_home / "doctor.json").read_text()) == {}  # no model was loaded to measure
    data = json.loads(run("doctor", "--json", home=isolated_home).stdout)
    assert data["index"]["documents"] == 1 and data["machine"]["cores"]


def test_ask_no_short_quotes_without_any_model(isolated_home: Path) -> None:
    """`ask --no-short` needs no model: the quote with its page, no model named or loaded."""
    done = run("ask", "--no-short", "--json", "What does fault code E07 mean?", home=isolated_home)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["found"] and "E07 | Fuel restriction or air in fuel" in answer["quote"]["text"]
    assert answer["model"] == "" and answer["short_answer"] is None


def test_search_asks_the_app_open_on_the_same_home(embedder) -> None:  # type: ignore[no-untyped-def]
    """With the app open, `fieldmind search` in a new process gets its passages from it over the home's Unix
    socket instead of loading Chroma and the embedder again; without it (or with a dead socket), it searches
    by itself, with the same result."""
    import tempfile

    from fieldmind.knowledge.index import KnowledgeBase
    from fieldmind.settings import load_settings
    from fieldmind.warm import WarmServer, socket_path

    home = Path(tempfile.mkdtemp(prefix="fm-", dir="/tmp"))  # a Unix socket's path is at most 108 bytes
    kb = KnowledgeBase(load_settings(home).index_dir, embedder=embedder)
    server = WarmServer(home, kb)
    try:
        kb.ingest([DEMO_PDF])
        server.start()
        assert socket_path(home).is_socket() and socket_path(home).parent.stat().st_mode & 0o077 == 0
        warm = run("search", "--json", "cylinder head bolts torque", home=home)
        assert warm.returncode == 0, warm.stderr
        assert server.served == 1 and json.loads(warm.stdout)[0]["page"] == 7
        server.stop()
        socket_path(home).write_text("")  # what a crashed app leaves: not a socket any more
        cold = run("search", "--json", "cylinder head bolts torque", home=home)
        assert cold.returncode == 0, cold.stderr
        assert [p["text"] for p in json.loads(cold.stdout)] == [p["text"] for p in json.loads(warm.stdout)]
    finally:
        server.stop()
        kb.close()
        shutil.rmtree(home, ignore_errors=True)


def test_models_list_shape(isolated_home: Path) -> None:
    rows = json.loads(run("models", "--json", home=isolated_home).stdout)
    assert {r["name"] for r in rows} >= {"qwen2.5-coder-0.5b-instruct", "gemma-3-270m"}
    assert set(rows[0]) == {"name", "size_bytes", "installed", "active", "fits"}
    assert [r["name"] for r in rows if r["active"]] == ["qwen2.5-coder-0.5b-instruct"]


@pytest.mark.model
def test_ask_on_the_demo_manual_right_after_install(isolated_home: Path) -> None:
    """First run: the demo manual is ingested by itself and the answer cites its page."""
    out = run("ask", "--json", "What torque for the cylinder head bolts?", home=isolated_home)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["found"] is True
    quote = answer["quote"]
    assert quote["text"] == "Cylinder head bolts | 90 N.m, in three stages" and quote["header"] == "Fastener | Torque"
    assert (quote["doc"], quote["page"]) == (DEMO_PDF.name, 7) and quote["end"] > quote["start"] >= 0
    assert answer["answer"] in (answer["short_answer"], "Fastener | Torque\n" + quote["text"])
    assert answer["citations"][0]["doc"] == DEMO_PDF.name
    assert answer["citations"][0]["page"] == 7
    assert answer["model"] == "qwen2.5-coder-0.5b-instruct" and answer["engine"] == "local"
    assert set(answer["timings"]) == {"retrieve_ms", "quote_ms", "first_token_ms", "total_ms", "tokens", "tokens_per_s"}
    assert set(answer) >= {"answer", "found", "quote", "closest", "short_answer", "citations", "model", "timings"}


@pytest.mark.model
def test_two_first_run_asks_at_once_share_one_assembly_and_both_answer(tmp_path: Path) -> None:
    """Two `fieldmind ask` on a new home: one failed "cannot assemble the model (No such file or directory)".
    The model is assembled once, under a lock; the other command waits, says so, and answers."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "FIELDMIND_MODEL__DIR"}  # the home's own models folder
    home = tmp_path / "new-home"
    command = [*fieldmind_command(), "ask", "--json", "What torque for the cylinder head bolts?", "--home", str(home)]
    first, second = (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)
    )
    outs = [p.communicate(timeout=300) for p in (first, second)]
    for process, (stdout, stderr) in zip((first, second), outs, strict=True):
        assert process.returncode == 0, stderr
        assert json.loads(stdout)["found"] is True
    assert "waiting for it" in outs[0][1] + outs[1][1]
    assert not list((home / "models").glob("*.partial"))
