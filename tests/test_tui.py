"""Pilot tests of every screen and flow of the terminal app (real index and embedder; scripted model
where the test is about the UI, the real small model for the ask flow)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeScriptedEngine, services_factory
from fieldmind.answers.check import facts_supported
from fieldmind.settings import load_settings
from fieldmind.tui.app import FieldmindApp

from conftest import DEMO_PDF, SMALL_MODEL
from helpers import corrupt_pdf

ANSWER = ["The head bolts ", "take 90 N.m, ", "in three stages."]
"""The scripted model's short answer: its facts are in the quote, so it is shown."""
QUESTION = "What torque for the cylinder head bolts?"


async def wait_until(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


def make_app(isolated_home: Path, embedder: Any, engine: Any, gate: threading.Event | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    settings = load_settings(isolated_home, **kw)
    return FieldmindApp(settings, services_factory(embedder, engine, gate))


async def ask(pilot: Any, question: str = QUESTION) -> None:
    pilot.app.screen.query_one("#question").value = question
    await pilot.press("enter")


def exchanges(app: FieldmindApp) -> list[Any]:
    return list(app.chat_screen().query("ExchangeView"))  # type: ignore[union-attr]


async def test_screen_paints_and_takes_a_question_before_the_model_is_loaded(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER), gate)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.query_one("#question").has_focus
        await pilot.press(*"oil")
        assert app.screen.query_one("#question").value == "oil"
        assert app.state != "ready"
        app.screen.query_one("#question").value = ""
        await ask(pilot)
        await wait_until(pilot, lambda: "waiting for the model" in str(exchanges(app)[0].query_one(".answer").render()))
        gate.set()
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None)
        answer = exchanges(app)[0].answer
        assert answer.found and "Cylinder head bolts | 90 N.m" in answer.quote.text
        assert answer.short_answer == "The head bolts take 90 N.m, in three stages." == answer.text
        assert answer.citations[0].page == 7
        view = exchanges(app)[0]
        assert "Cylinder head bolts | 90 N.m" in str(view.query_one(".quote").render())
        assert "page 7" in str(view.query_one(".where").render())


async def test_first_screen_says_what_is_loaded_offers_examples_and_keys_fit_80_columns(
    isolated_home, embedder
) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets._footer import FooterKey

    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        welcome = app.screen.query_one("WelcomeView")
        await wait_until(pilot, lambda: "1 document loaded" in str(welcome.query_one("#loaded").render()))
        assert "Northwind GX-7500" in str(welcome.query_one("#loaded").render())
        assert "fieldmind ingest FOLDER" in " ".join(str(s.render()) for s in welcome.query("Static"))
        examples = welcome.query_one("#examples")
        assert examples.option_count == 2 and QUESTION in str(examples.get_option_at_index(0).prompt)
        shown = {k.key: k.region for k in app.screen.query(FooterKey)}
        assert {"f1", "f2", "f3", "f4", "ctrl+q", "ctrl+s"} <= set(shown)  # F5, Card, Export: in F1's list
        assert all(r.width > 0 and r.right <= 80 for r in shown.values()), shown  # none cut at 80 columns
        await pilot.press("f1")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "KeysScreen")
        listed = [tuple(map(str, r)) for r in app.screen.rows]
        assert ("F5", "Scope") in [r[:2] for r in listed] and ("Ctrl+B", "Card") in [r[:2] for r in listed]
        await pilot.press("escape")
        examples.focus()
        await pilot.press("enter")  # the first example is asked
        await wait_until(pilot, lambda: exchanges(app) and exchanges(app)[0].answer is not None)
        assert exchanges(app)[0].question == QUESTION and exchanges(app)[0].answer.found
        assert not app.screen.query("WelcomeView")  # gone with the first question
        assert app.screen.query_one("#question").has_focus


async def test_typing_reaches_the_question_after_any_screen_closes(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await ask(pilot)
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None)
        await pilot.press("ctrl+s", "down", "enter")  # a page opens from the sources list
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SourceScreen")
        await pilot.press("escape", *"oil")
        assert type(app.screen).__name__ == "ChatScreen"
        assert app.screen.query_one("#question").value == "oil"  # not swallowed by the sources list
        await pilot.press("f2")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")
        await pilot.press("f3")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ModelsScreen")
        await pilot.press("escape")  # back to the chat, not to the library underneath
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChatScreen")
        await pilot.press(*" pump")
        assert app.screen.query_one("#question").value == "oil pump"
        assert len(app.screen_stack) == 2


async def test_sources_and_the_quote_show_before_the_model_writes(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = FakeScriptedEngine(ANSWER)
    engine.first_token.clear()
    app = make_app(isolated_home, embedder, engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await ask(pilot)
        sources = app.screen.query_one("#sources")
        await wait_until(pilot, lambda: sources.option_count > 0)
        view = exchanges(app)[0]
        await wait_until(pilot, lambda: view.quote is not None)  # the manual's words, while the model waits
        assert view.text == "" and "90 N.m" in str(view.query_one(".quote").render())
        assert "writing a short answer" in str(view.query_one(".answer").render())  # not a frozen screen
        engine.first_token.set()
        await wait_until(pilot, lambda: view.answer is not None)
        first = sources.get_option_at_index(0).prompt
        assert "✓" in str(first) and "p. 7" in str(first)


async def test_escape_stops_the_short_answer_and_keeps_the_quote(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = FakeScriptedEngine(["word "] * 150, delay=0.05)
    app = make_app(isolated_home, embedder, engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await ask(pilot)
        await wait_until(pilot, lambda: bool(engine.calls) and exchanges(app)[0].quote is not None)
        await pilot.pause(0.2)
        await pilot.press("escape")
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None, timeout=5)
        answer = exchanges(app)[0].answer
        assert answer.stopped and answer.short_answer is None and answer.attempt.startswith("word")
        assert answer.found and "90 N.m" in answer.quote.text  # the manual's words stay
        assert answer.timings.tokens < 100
        assert "[stopped]" in str(exchanges(app)[0].query_one(".answer").render())
        assert app.screen.query_one("#question").has_focus
        engine.pieces = ANSWER
        engine.delay = 0
        await ask(pilot)  # ready again at once
        await wait_until(pilot, lambda: len(exchanges(app)) == 2 and exchanges(app)[1].answer is not None)
        assert exchanges(app)[1].answer.found


async def test_enter_on_a_source_opens_its_page_with_the_passage_highlighted(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await ask(pilot)
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None)
        await pilot.press("ctrl+s", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SourceScreen")
        context = app.screen.context
        assert context.title == "gx7500-generator-manual.pdf, page 7"
        assert "Glow plugs | 18 N.m" in context.text  # the whole page, not just the passage
        assert context.text[context.start : context.end] == exchanges(app)[0].quote.text  # the quoted words
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ChatScreen"
        await pilot.press("ctrl+o")  # the quote's page, straight from the answer
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SourceScreen")
        assert app.screen.context.text[app.screen.context.start : app.screen.context.end].startswith("Cylinder head")


async def test_library_ingests_with_progress_shows_errors_and_removes_with_confirmation(  # type: ignore[no-untyped-def]
    isolated_home, embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "manuals"
    folder.mkdir()
    (folder / "pump.md").write_text("# Pump\n\nThe HT-9 impeller nut torque is 42 N.m.\n")
    corrupt_pdf(folder / "broken.pdf")
    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await pilot.press("f2")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")
        table = app.screen.query_one("#documents")
        assert table.row_count == 1  # the demo manual
        await pilot.press("a")
        app.screen.query_one("#path").value = str(folder)
        await pilot.press("enter")
        await wait_until(pilot, lambda: table.row_count == 2)
        await wait_until(pilot, lambda: "broken.pdf" in "\n".join(app.screen.query_one("#errors").lines))
        assert app.screen.query_one("#progress").progress == 2
        assert "not a readable PDF" in "\n".join(app.screen.query_one("#errors").lines)
        table.move_cursor(row=[str(r[0]) for r in (table.get_row_at(i) for i in range(2))].index("pump.md"))
        table.focus()
        await pilot.press("d")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 1)
        assert [d.name for d in app.services.knowledge.documents()] == [DEMO_PDF.name]
        await pilot.press("a")
        app.screen.query_one("#path").value = str(tmp_path / "no-such-folder")
        await pilot.press("enter")
        bar = app.screen.query_one("#progress")
        await wait_until(pilot, lambda: not app.screen._ingesting)
        await pilot.pause(0.2)
        assert bar.total is not None or not bar.display  # never an endless "--%" after a bad path
        assert "no-such-folder" in "\n".join(app.screen.query_one("#errors").lines)


async def test_models_screen_switches_while_the_old_model_keeps_answering(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    old = FakeScriptedEngine(ANSWER, name="qwen2.5-coder-0.5b-instruct")
    new = FakeScriptedEngine(ANSWER, name=SMALL_MODEL)
    gate = threading.Event()
    app = make_app(isolated_home, embedder, old)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        services = app.services

        def slow_load(name: str, progress: Any = None) -> Any:
            gate.wait(timeout=30)
            return new

        services.engine_factory = slow_load
        await pilot.press("f3")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ModelsScreen")
        table = app.screen.query_one("#models")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert {"qwen2.5-coder-0.5b-instruct", SMALL_MODEL} <= set(names)
        table.move_cursor(row=names.index(SMALL_MODEL))
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert services.engine is old and not old.closed  # still answering while the new one loads
        gate.set()
        await wait_until(pilot, lambda: app.model_name == SMALL_MODEL)
        assert services.engine is new and old.closed
        assert load_settings(isolated_home).model.name == SMALL_MODEL


async def test_history_is_saved_reopened_exported_and_wiped(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await ask(pilot)
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None)
        await pilot.press("ctrl+n")
        assert exchanges(app) == []
        await pilot.press("f4")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        listing = app.screen.query_one("#conversations")
        assert listing.option_count == 1 and QUESTION in str(listing.get_option_at_index(0).prompt)
        await pilot.press("e")  # the latest conversation is highlighted from the start
        exported = (isolated_home / "exports").glob("*.md")
        markdown = next(exported).read_text()
        assert "> Cylinder head bolts | 90 N.m, in three stages" in markdown
        assert "> — gx7500-generator-manual.pdf, page 7" in markdown and "The head bolts take 90 N.m" in markdown
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and len(exchanges(app)) == 1)
        await pilot.press("f4")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        await pilot.press("w")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen.query_one("#conversations").option_count == 0)
    data = (isolated_home / "history.sqlite").read_bytes()
    assert b"cylinder head bolts" not in data


async def test_palette_keymap_and_theme(isolated_home, embedder) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.tui.commands import ACTIONS

    app = make_app(isolated_home, embedder, FakeScriptedEngine(ANSWER), ui={"keymap": {"app.library": "f6"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        chat = app.chat_screen()
        for _, action, _ in ACTIONS:
            target = chat if action.startswith("chat_") else app
            name = action.removeprefix("chat_")
            assert hasattr(target, f"action_{name}"), action
        await pilot.press("f6")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")
        await pilot.press("escape")
        theme = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != theme
        ids = {b.id for b in app.BINDINGS} | {b.id for b in chat.BINDINGS}
        assert {"app.quit", "app.library", "app.models", "app.history", "chat.stop"} <= ids
        assert all(b.tooltip for b in app.BINDINGS)


@pytest.mark.model
async def test_ask_flow_with_the_real_small_model(isolated_home, embedder, small_engine) -> None:  # type: ignore[no-untyped-def]
    app = make_app(isolated_home, embedder, small_engine, model={"name": SMALL_MODEL})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready", timeout=60)
        assert app.model_name == SMALL_MODEL
        await ask(pilot)
        await wait_until(pilot, lambda: exchanges(app)[0].answer is not None, timeout=120)
        answer = exchanges(app)[0].answer
        assert answer.model == SMALL_MODEL and answer.timings.tokens > 0  # the base model was asked to reword
        assert answer.found and "90 N.m" in answer.quote.text
        assert answer.short_answer is None or facts_supported(answer.short_answer, answer.quote.shown())
        assert app.screen.query_one("#sources").option_count == 5
        assert app.services.history.conversations()[0].title == QUESTION
    small_engine.load()  # the app closed it on exit; other tests share it


async def test_sync_from_the_app_shows_state_and_what_changed(isolated_home, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sync_helpers import DOCS_V1, Publisher, trust

    publisher = Publisher(tmp_path / "publisher")
    publisher.publish(1, DOCS_V1)
    trust(isolated_home, publisher.public)
    app = make_app(
        isolated_home,
        embedder,
        FakeScriptedEngine(ANSWER),
        sync={"source": str(publisher.site), "check_interval_s": 3600},
    )
    states: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.watch(app, "sync_state", lambda value: states.append(value))
        await wait_until(pilot, lambda: app.state == "ready")
        await wait_until(pilot, lambda: app.sync_state.startswith("up to date"), timeout=60)  # the monitor synced
        assert any(s.startswith("downloading") for s in states) and "applying" in states
        assert "up to date as of" in str(app.screen.query_one("#status").render())
        notes = [n.message for n in app._notifications]
        assert any("Applied pumps v1 (+3" in note for note in notes)
        await pilot.press("f2")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")
        sources = {str(app.screen.query_one("#documents").get_row_at(i)[-1]) for i in range(4)}
        assert sources == {"local", "pack:pumps@1"}
        await pilot.press("escape")
        await app.run_action("sync_log")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "AuditScreen" and app.screen.query("#audit"))
        await pilot.pause(0.2)
        lines = "\n".join(app.screen.query_one("#audit").lines)
        assert "applied  pumps v1" in lines and "pump.md" in lines


async def test_scope_picker_limits_answers_is_remembered_and_a_card_is_saved(isolated_home, embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fieldmind.knowledge.index import KnowledgeBase
    from fieldmind.knowledge.revisions import DocumentMeta

    from helpers import make_pdf

    kb = KnowledgeBase(isolated_home / "index", embedder=embedder)
    for asset, torque in (("A1", "38 N.m"), ("A2", "44 N.m")):
        manual = make_pdf(
            tmp_path / f"p100-{asset}.pdf", [f"Impeller. The impeller nut torque is {torque} for the P-100."]
        )
        kb.ingest([manual], meta=DocumentMeta(revision="C", tags={"asset": asset}))
    kb.close()
    app = make_app(isolated_home, embedder, FakeScriptedEngine(["It is ", "44 N.m."]), demo_knowledge=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.state == "ready")
        await pilot.press("f5")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ScopeScreen")
        assert "asset: A1, A2" in str(app.screen.query_one("#scope-known").render())
        app.screen.query_one("#scope").value = "asset=A2"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.scope_label == "asset=A2")
        assert "scope asset=A2" in str(app.screen.query_one("StatusBar").render())
        assert load_settings(isolated_home).ui.scope == ["asset=A2"]  # remembered for the next start
        await ask(pilot, "What is the impeller nut torque for the P-100?")
        await wait_until(pilot, lambda: bool(exchanges(app)) and exchanges(app)[0].answer is not None)
        answer = exchanges(app)[0].answer
        assert answer.quote is not None and "44 N.m" in answer.quote.text and answer.quote.revision == "C"
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: len(list((isolated_home / "cards").glob("*.md"))) == 1)
        card = next((isolated_home / "cards").glob("*.md")).read_text()
        assert "44 N.m" in card and "p100-A2.pdf" in card and "rev. C" in card and "local file" in card
