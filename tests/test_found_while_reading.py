"""Bugs found while reading the code (issue 14), each pinned by a test that failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldmind.errors import FieldmindError
from fieldmind.history import Exchange, History, export_markdown
from fieldmind.knowledge.parsers.text import markdown_headings
from fieldmind.sync.state import SyncPaths, audit, read_audit


def test_a_torn_last_audit_line_does_not_hide_the_rest(tmp_path: Path) -> None:
    paths = SyncPaths(tmp_path)
    audit(paths, {"event": "applied", "pack": "fleet", "version": 1})
    audit(paths, {"event": "applied", "pack": "fleet", "version": 2})
    with paths.audit.open("a", encoding="utf-8") as handle:
        handle.write('{"event": "fetched", "pack": "fl')  # power cut mid-append
    events = read_audit(paths)
    assert [e["version"] for e in events] == [1, 2]


def test_exporting_a_conversation_that_is_gone_says_so(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite")
    try:
        kept = history.start("kept")
        history.add(kept, Exchange("q?", "a.", True, [], "m"))
        gone = history.start("gone")
        history.delete(gone)
        with pytest.raises(FieldmindError, match=f"conversation {gone} is no longer in the history"):
            export_markdown(history, gone, tmp_path / "exports")
        written = export_markdown(history, kept, tmp_path / "exports")
        assert written.read_text().startswith("# kept")
    finally:
        history.close()


def test_markdown_heading_attributes_are_not_part_of_the_title() -> None:
    text = "# Hardware {#hardware}\n\n## UI LED {#ui_led .small}\n\nBlinks.\n\n## Plain\n\nText {not an attribute}.\n"
    assert [h.title for h in markdown_headings(text)] == ["Hardware", "UI LED", "Plain"]


def test_history_files_say_their_schema_version_and_upgrade_from_the_first(tmp_path: Path) -> None:
    """A history written before versions were kept (version 0, no quote columns) opens and keeps its rows."""
    import sqlite3

    from fieldmind.history import MIGRATIONS

    path = tmp_path / "history.sqlite"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO conversations VALUES (1, 'old', 0, 0)")
    old.execute("INSERT INTO exchanges VALUES (1, 1, 'q?', 'a.', 1, 0, '[]', 'm', '{}', 0)")
    old.commit()
    old.close()
    history = History(path)
    try:
        conversation = history.load(1)
        assert conversation is not None and conversation.exchanges[0].quote is None
        quote = {"doc": "m.pdf", "page": 2, "text": "Torque 38 N.m.", "start": 0, "end": 14}
        history.add(1, Exchange("q2?", "a2.", True, [], "m", quote=quote, short_answer="38 N.m"))
        saved = history.load(1)
        assert saved is not None and saved.exchanges[1].quote == quote and saved.exchanges[1].short_answer == "38 N.m"
    finally:
        history.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_network_policy_reports_what_it_checked() -> None:
    from fieldmind import netguard

    described = netguard.describe()
    assert described["chroma_telemetry"] is False  # read from the settings Chroma is opened with
    assert isinstance(described["update_checks"], str) and "no update check" in described["update_checks"]
    json.dumps(described)


def test_an_index_catalogue_from_before_page_texts_upgrades_to_one_with_them(tmp_path: Path) -> None:
    import sqlite3

    from fieldmind.knowledge.store import MIGRATIONS, Store

    folder = tmp_path / "g000001"
    folder.mkdir()
    old = sqlite3.connect(folder / "catalog.sqlite")
    old.executescript(MIGRATIONS[0])
    old.execute("INSERT INTO documents VALUES ('d1', 'm.pdf', '/m.pdf', 'local', 'x', 1, 'pdf', 2, 2, '[]', 0)")
    old.execute("INSERT INTO chunks VALUES (1, 'd1', 0, 2, NULL, 'First part of page two.')")
    old.execute("INSERT INTO chunks VALUES (2, 'd1', 1, 2, NULL, 'Second part of page two.')")
    old.commit()
    old.close()
    store = Store(folder)
    try:
        assert store.page_texts("d1", 2) == [(2, None, "First part of page two.\nSecond part of page two.")]
    finally:
        store.close()
    assert sqlite3.connect(folder / "catalog.sqlite").execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[knowledge]\nchunk_words = 0\n", "knowledge.chunk_words"),
        ('[sync]\ntrusted_keys = "nope"\n', "sync.trusted_keys"),
        ("[knowledge]\nmax_file_mb = -5\n", "knowledge.max_file_mb"),
        ("[sync]\ncheck_interval_s = inf\n", "sync.check_interval_s"),
        ('[model]\ndir = "/dev/null"\n', "model.dir"),
        ('[model]\nname = "' + "x" * 100_000 + '"\nthreads = -1\n', "model.threads"),
    ],
)
def test_bad_settings_name_the_key_and_the_file(
    tmp_path: Path, toml: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldmind.settings import load_settings

    monkeypatch.delenv("FIELDMIND_MODEL__DIR")  # the file's own [model] dir is what is checked

    (tmp_path / "config.toml").write_text(toml)
    with pytest.raises(FieldmindError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "config.toml") in message and f"setting {named} = " in message
    assert "\n" not in message and len(message) < 1000


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
def test_a_settings_file_that_is_not_one_is_named_at_once(tmp_path: Path, kind: str) -> None:
    """config.toml linked to /dev/zero grew past 5.4 GB; a FIFO hung: only a regular file of a sane size is read."""
    import os

    from fieldmind.settings import load_settings

    config = tmp_path / "config.toml"
    if kind == "dev-zero":
        config.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(config)
    else:
        config.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(FieldmindError, match="not a regular file" if kind != "huge" else "larger than") as caught:
        load_settings(tmp_path)
    assert str(config) in str(caught.value)


def test_settings_merge_key_by_key_file_then_variables_then_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file sets a table, a variable overrides one key of it, a given value another: the rest of the table
    is kept at each step (pydantic-settings' sources, the file read through the checked reader)."""
    from fieldmind.settings import load_settings, save_setting

    monkeypatch.delenv("FIELDMIND_MODEL__DIR")
    (tmp_path / "config.toml").write_text('[model]\nname = "qwen2.5-1.5b"\nthreads = 3\n[ui]\ntheme = "nord"\n')
    monkeypatch.setenv("FIELDMIND_MODEL__THREADS", "1")
    settings = load_settings(tmp_path, ui={"keymap": {"app.library": "f6"}})
    assert (settings.model.name, settings.model.threads) == ("qwen2.5-1.5b", 1)
    assert (settings.ui.theme, settings.ui.keymap) == ("nord", {"app.library": "f6"})
    assert settings.home == tmp_path
    save_setting(settings, "model.name", "gemma3-270m")
    monkeypatch.delenv("FIELDMIND_MODEL__THREADS")
    again = load_settings(tmp_path)
    assert (again.model.name, again.model.threads, again.ui.theme) == ("gemma3-270m", 3, "nord")


def test_pack_keygen_and_build_use_the_home_when_no_paths_are_given(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fieldmind.cli import cli

    home, docs, site = tmp_path / "home", tmp_path / "docs", tmp_path / "site"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha pump impeller seal: replace every 250 hours.\n")
    runner = CliRunner()
    keygen = runner.invoke(cli, ["pack", "keygen", "--home", str(home)])
    assert keygen.exit_code == 0, keygen.output
    assert (home / "publisher" / "publisher.key").is_file() and (home / "publisher" / "publisher.pub").is_file()
    build = runner.invoke(
        cli, ["pack", "build", str(docs), "--name", "a", "--version", "1", "--out", str(site), "--home", str(home)]
    )
    assert build.exit_code == 0, build.output
    assert (site / "index.json").exists() or any(site.iterdir())
    missing = runner.invoke(
        cli,
        [
            "pack",
            "build",
            str(docs),
            "--name",
            "a",
            "--version",
            "2",
            "--out",
            str(site),
            "--home",
            str(tmp_path / "other"),
        ],
    )
    assert missing.exit_code == 1 and "no publisher key" in missing.output


def test_the_embedder_is_exported_once_per_installation_with_a_quiet_stderr(tmp_path: Path) -> None:
    """Every new home exported the ONNX embedder again (~10 s) and printed torch's tracer warnings and a
    progress bar on stderr; now it goes to the user's cache, once, silently."""
    import os
    import subprocess

    from conftest import DEMO_MD, fieldmind_command

    env = {k: v for k, v in os.environ.items() if k not in ("FIELDMIND_MODEL__DIR", "FIELDMIND_HOME")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    exported = tmp_path / "cache" / "fieldmind" / "embedder" / "all-MiniLM-L6-v2.onnx"
    first = subprocess.run(
        [*fieldmind_command(), "ingest", str(DEMO_MD), "--home", str(tmp_path / "home1")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert exported.is_file()
    noise = [line for line in first.stderr.splitlines() if "Warning" in line or "Loading weights" in line]
    assert not noise, noise
    stamp = exported.stat().st_mtime_ns
    second = subprocess.run(
        [*fieldmind_command(), "ingest", str(DEMO_MD), "--home", str(tmp_path / "home2")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert exported.stat().st_mtime_ns == stamp  # the second home used the same export


def test_a_markdown_page_is_shown_without_its_markup_and_the_quote_stays_marked() -> None:
    from fieldmind.tui.markdown_view import render_markdown

    raw = "## UI LED {#ui_led}\n\nThe **status LED** blinks *twice* when `ARMED`. See ![LED](led.png) [wiring](w.md).\n"
    start = raw.index("The **status")
    end = raw.index("`ARMED`.") + len("`ARMED`.")
    shown = render_markdown(raw, start, end)
    assert shown.plain == "UI LED\n\nThe status LED blinks twice when ARMED. See LED wiring.\n"
    marked = [shown.plain[s.start : s.end] for s in shown.spans if "reverse" in str(s.style)]
    assert marked == ["The status LED blinks twice when ARMED."]
    assert [shown.plain[s.start : s.end] for s in shown.spans if str(s.style) == "bold"] == ["UI LED"]


def test_the_page_context_says_the_document_format(writable_kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.md").write_text("# Pump\n\nThe **HT-9** impeller nut torque is 42 N.m.\n")
    writable_kb.ingest([tmp_path / "notes.md"])
    [passage] = writable_kb.search("HT-9 impeller nut torque", k=1)
    context = writable_kb.context(passage)
    assert context.kind == "markdown" and "**HT-9**" in context.text


def test_two_processes_migrating_a_new_catalogue_take_each_step_once(tmp_path: Path) -> None:
    """Two first-run commands opened a new index at once: both read version 0, and the second ran an
    `ALTER TABLE … ADD COLUMN` again ("duplicate column name: ocr_pages"). The version is read again under the
    write lock. Made to happen every time: the second connection read the version before the first migrated."""
    import sqlite3

    from fieldmind import migrations
    from fieldmind.knowledge.store import MIGRATIONS

    path = tmp_path / "catalog.sqlite"
    first = sqlite3.connect(path, isolation_level=None)
    second = sqlite3.connect(path, isolation_level=None)
    stale = migrations.version(second)
    assert stale == 0
    assert migrations.migrate(first, MIGRATIONS) == len(MIGRATIONS)
    real_version = migrations.version
    calls = {"n": 0}

    def version_read_before_the_other_migrated(db: sqlite3.Connection) -> int:
        calls["n"] += 1
        return stale if calls["n"] == 1 else real_version(db)

    migrations.version = version_read_before_the_other_migrated  # type: ignore[assignment]
    try:
        assert migrations.migrate(second, MIGRATIONS) == len(MIGRATIONS)
    finally:
        migrations.version = real_version  # type: ignore[assignment]


def test_a_huge_value_is_not_echoed_whole_in_an_error(tmp_path: Path) -> None:
    """Error messages echoed a 100 KB `--doc-id` (or tag, or revision) in full."""
    from fieldmind.knowledge.revisions import DocumentMeta, parse_tags

    huge = "X" * 100_000
    for make in (lambda: DocumentMeta(doc_id=huge), lambda: parse_tags([f"asset={huge}"])):
        with pytest.raises(FieldmindError) as caught:
            make()
        assert len(str(caught.value)) < 300 and "100002 characters" in str(caught.value)
