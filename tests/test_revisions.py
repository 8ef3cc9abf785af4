"""The right revision, for this asset: revision-aware documents, scopes, answer cards, revisions by sync."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from fieldmind.assistant import Assistant
from fieldmind.cards import card_for
from fieldmind.knowledge.revisions import DocumentMeta, Scope, natural, newness
from fieldmind.sync import keys
from fieldmind.sync.runner import run_sync
from fieldmind.sync.state import SyncPaths, read_audit
from sync_helpers import Publisher, device
from sync_server import serve

from conftest import fieldmind_command
from helpers import make_pdf


def _manual(path: Path, torque: str) -> Path:
    """A generated two-page service manual; the revisions differ in one value."""
    return make_pdf(
        path,
        [
            "P-100 transfer pump service manual. Read the safety notes first.\nIsolate the pump before work.",
            f"Impeller. The impeller nut torque is {torque} for the P-100 pump. Use a new lock washer.",
        ],
    )


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*fieldmind_command(), *args, "--home", str(home)], capture_output=True, text=True, timeout=300
    )


def test_revision_order_is_by_date_then_natural_label() -> None:
    assert natural("R9") < natural("R10") and natural("b") < natural("C")
    assert newness("2025-01-10", "Z") < newness("2026-05-01", "A")  # the date decides first
    assert newness(None, "C") < newness("2020-01-01", "A")


def test_the_current_revision_answers_and_the_older_one_is_kept_superseded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rev_c = _manual(tmp_path / "p100-rev-c.pdf", "42 N.m")
    rev_b = _manual(tmp_path / "p100-rev-b.pdf", "35 N.m")
    # the newer revision is added first: which one answers is never decided by when (or file time)
    for path, revision, date in ((rev_c, "C", "2026-05-01"), (rev_b, "B", "2025-01-10")):
        out = _cli(home, "ingest", str(path), "--doc-id", "P100-SM", "--revision", revision, "--effective", date)
        assert out.returncode == 0, out.stderr
    answer = json.loads(_cli(home, "ask", "What is the impeller nut torque?", "--json").stdout)
    assert answer["found"] and "42 N.m" in answer["quote"]["text"], answer
    assert (answer["quote"]["doc_id"], answer["quote"]["revision"], answer["quote"]["effective"]) == (
        "P100-SM",
        "C",
        "2026-05-01",
    )
    assert {(c["doc_id"], c["revision"]) for c in answer["citations"]} == {("P100-SM", "C")}
    both = json.loads(_cli(home, "search", "impeller nut torque", "--all-revisions", "--json").stdout)
    assert {(p["revision"], "42 N.m" in p["text"] or "35 N.m" in p["text"]) for p in both[:2]} == {
        ("C", True),
        ("B", True),
    }
    current = json.loads(_cli(home, "search", "impeller nut torque", "--json").stdout)
    assert {p["revision"] for p in current} == {"C"}
    docs = {d["name"]: d for d in json.loads(_cli(home, "docs", "--json").stdout)}
    assert docs[rev_b.name]["superseded"] is True and docs[rev_c.name]["superseded"] is False
    assert "SUPERSEDED, rev. B 2025-01-10" in _cli(home, "docs").stdout
    bad = _cli(home, "ingest", str(rev_b), "--revision", "B", "--effective", "10/01/2025")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_a_scope_answers_from_its_asset_and_no_scope_says_the_documents_differ(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a1 = _manual(tmp_path / "p100-asset-a1.pdf", "38 N.m")
    a2 = _manual(tmp_path / "p100-asset-a2.pdf", "44 N.m")
    general = make_pdf(tmp_path / "shop-rules.pdf", ["Shop rules. Wear safety glasses in the workshop at all times."])
    writable_kb.ingest([a1], meta=DocumentMeta(tags={"asset": "A1"}))
    writable_kb.ingest([a2], meta=DocumentMeta(tags={"asset": "A2"}))
    writable_kb.ingest([general])
    assistant = Assistant(writable_kb, None)
    question = "What is the impeller nut torque for the P-100 pump?"
    scoped = assistant.ask(question, scope=Scope({"asset": "A2"}))
    assert scoped.found and "44 N.m" in scoped.quote.text and scoped.quote.doc == a2.name  # type: ignore[union-attr]
    assert {p.doc for p in scoped.passages} <= {a2.name, general.name}  # asset A1's manual is out of scope
    glasses = writable_kb.search("safety glasses", k=1, scope=Scope({"asset": "A2"}))
    assert glasses[0].doc == general.name  # untagged, general documents stay in every scope
    unscoped = assistant.ask(question)
    assert unscoped.found and unscoped.quote is not None
    [other] = unscoped.differing
    assert {unscoped.quote.doc, other.doc} == {a1.name, a2.name}
    assert {"38 N.m" in unscoped.quote.text, "44 N.m" in other.text} in ({True}, {False})
    assert {c.doc for c in unscoped.citations} == {a1.name, a2.name}
    assert unscoped.to_json()["differing"][0]["doc"] == other.doc


def test_an_answer_card_carries_every_field_from_its_source(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manual = _manual(tmp_path / "p100-rev-c.pdf", "42 N.m")
    meta = DocumentMeta("P100-SM", "P-100 Service Manual", "C", "2026-05-01", {"model": "P-100"})
    writable_kb.ingest([manual], meta=meta)
    answer = Assistant(writable_kb, None).ask("What is the impeller nut torque?")
    card = card_for(answer, writable_kb)
    record = writable_kb.documents()[0]
    assert (card.question, card.quote) == ("What is the impeller nut torque?", answer.quote.shown())  # type: ignore[union-attr]
    assert (card.document, card.doc_id, card.revision, card.effective) == (
        "P-100 Service Manual",
        "P100-SM",
        "C",
        "2026-05-01",
    )
    assert card.page == answer.quote.page == 2  # type: ignore[union-attr]
    assert (card.source, card.publisher_key) == ("local file", None)
    assert card.file_sha256 == hashlib.sha256(manual.read_bytes()).hexdigest() == record.sha256
    markdown = card.render("md")
    for value in ("P-100 Service Manual", "`P100-SM`", "rev. C 2026-05-01", "page 2", card.file_sha256, "42 N.m"):
        assert value in markdown
    assert json.loads(card.render("json"))["revision"] == "C"
    assert (card.model, card.engine) == (answer.model, answer.engine) and "(site server)" not in markdown


def _pack(revision: str, effective: str, torque: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    name = f"p100-rev-{revision.lower()}.md"
    return {
        name: f"# P-100 pump\n\n## Impeller\n\nThe P-100 impeller nut torque is {torque}. Use a new lock washer.\n",
        **(extra or {}),
        "fieldmind-pack.toml": (
            f'[documents."{name}"]\ndoc_id = "P100-SM"\ntitle = "P-100 Service Manual"\n'
            f'revision = "{revision}"\neffective = "{effective}"\ntags = {{ model = "P-100" }}\n'
        ),
    }


def test_sync_brings_a_revision_and_refuses_a_pack_that_rolls_it_back(
    tmp_path: Path, isolated_home: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    publisher = Publisher(tmp_path / "publisher")
    services = device(isolated_home, embedder, publisher.public)
    question = "What is the P-100 impeller nut torque?"
    with serve(publisher.site) as (url, _faults):
        publisher.publish(1, _pack("B", "2025-01-10", "35 N.m"))
        assert run_sync(services, url).applied
        publisher.publish(2, _pack("C", "2026-05-01", "42 N.m"))
        assert run_sync(services, url).applied
        answer = Assistant(services.knowledge, None).ask(question)
        assert answer.found and "42 N.m" in answer.quote.text and answer.quote.revision == "C"  # type: ignore[union-attr]
        card = card_for(answer, services.knowledge)
        assert card.source == "pack pumps v2"
        assert card.publisher_key == keys.key_id(keys.load_public(publisher.public))
        before = [(d.name, d.revision, d.source) for d in services.knowledge.documents()]

        publisher.publish(3, _pack("A", "2024-02-02", "30 N.m"))  # a newer pack, an older revision
        result = run_sync(services, url)
    assert result.applied == []
    [refused] = result.rejected
    assert refused["name"] == "pumps" and "rollback refused: document P100-SM revision A" in refused["reason"]
    assert "older than revision C" in refused["reason"]
    assert [(d.name, d.revision, d.source) for d in services.knowledge.documents()] == before
    assert services.knowledge.pack_versions() == {"pumps": 2}
    logged = [e for e in read_audit(SyncPaths(isolated_home)) if e.get("event") == "rejected"]
    assert logged and "rollback refused: document P100-SM" in logged[-1]["reason"] and logged[-1]["version"] == 3


def test_a_pack_keeps_an_older_revision_it_still_ships_as_superseded(
    tmp_path: Path, isolated_home: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    publisher = Publisher(tmp_path / "publisher")
    services = device(isolated_home, embedder, publisher.public)
    old = _pack("B", "2025-01-10", "35 N.m")
    new = _pack("C", "2026-05-01", "42 N.m")
    manifest = old.pop("fieldmind-pack.toml") + new.pop("fieldmind-pack.toml")
    publisher.publish(1, {**old, **new, "fieldmind-pack.toml": manifest})
    run_sync(services, str(publisher.site))
    superseded = {d.revision: d.superseded for d in services.knowledge.documents()}
    assert superseded == {"B": True, "C": False}
    assert {p.revision for p in services.knowledge.search("P-100 impeller nut torque", k=3)} == {"C"}


def test_tags_are_set_listed_and_checked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manual = _manual(tmp_path / "p100.pdf", "42 N.m")
    assert _cli(home, "ingest", str(manual), "--tag", "model=P-100").returncode == 0
    tagged = _cli(home, "tag", manual.name, "asset=A7", "--json")
    assert tagged.returncode == 0, tagged.stderr
    assert json.loads(tagged.stdout)[0]["tags"] == {"model": "P-100", "asset": "A7"}
    assert json.loads(_cli(home, "tag", manual.name, "--remove", "model", "--json").stdout)[0]["tags"] == {
        "asset": "A7"
    }
    bad = _cli(home, "tag", manual.name, "Asset A7")
    assert bad.returncode == 2 and "key=value" in bad.stderr
    scoped: Any = json.loads(_cli(home, "search", "impeller", "--scope", "asset=B9", "--json").stdout)
    assert scoped == []  # tagged for another asset: out of this scope


def test_a_pdf_is_titled_by_its_own_metadata_else_its_file_name(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fpdf import FPDF

    titled = tmp_path / "p100-sm.pdf"
    pdf = FPDF()
    pdf.set_title("P-100 Transfer Pump Service Manual")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Impeller. The impeller nut torque is 42 N.m for the P-100 pump.")
    pdf.output(str(titled))
    plain = _manual(tmp_path / "untitled-manual.pdf", "35 N.m")
    writable_kb.ingest([titled, plain])
    titles = {d.name: d.title for d in writable_kb.documents()}
    assert titles == {titled.name: "P-100 Transfer Pump Service Manual", plain.name: plain.name}


def test_a_table_row_quoted_on_a_card_is_a_markdown_table(writable_kb) -> None:  # type: ignore[no-untyped-def]
    """The card showed `> Fastener | Torque` / `> Cylinder head bolts | 90 N.m…` with no separator row: Markdown
    viewers showed bars, not a table."""
    from fieldmind.assistant import Assistant
    from fieldmind.cards import card_for

    from conftest import DEMO_PDF

    writable_kb.ingest([DEMO_PDF])
    answer = Assistant(writable_kb, None).ask("What torque for the cylinder head bolts?")
    markdown = card_for(answer, writable_kb).render("md")
    assert "> | Fastener | Torque |\n> | --- | --- |\n> | Cylinder head bolts | 90 N.m, in three stages |" in markdown
