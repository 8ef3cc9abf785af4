"""Snapshot tests of every screen at 80x24 (pytest-textual-snapshot); update with --snapshot-update.

The model is a scripted fake so the pictures do not depend on timing; the index and embedder are real.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from fakes import FakeScriptedEngine, services_factory
from fieldmind.settings import load_settings
from fieldmind.tui.app import FieldmindApp

ANSWER = ["The head bolts take ", "90 N.m, in three stages."]
SIZE = (80, 24)


async def _ready(pilot: Any) -> None:
    deadline = time.monotonic() + 60
    while pilot.app.state != "ready":
        assert time.monotonic() < deadline
        await pilot.pause(0.05)


async def _asked(pilot: Any) -> None:
    await _ready(pilot)
    pilot.app.screen.query_one("#question").value = "What torque for the cylinder head bolts?"
    await pilot.press("enter")
    deadline = time.monotonic() + 60
    while not any(view.answer for view in pilot.app.screen.query("ExchangeView")):
        assert time.monotonic() < deadline
        await pilot.pause(0.05)
    await _settle(pilot)


async def _settle(pilot: Any) -> None:
    from textual.widgets import Input

    pilot.app.tokens_per_s = 22.0
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query(Input):  # a blinking cursor is drawn or not depending on timing
        field.cursor_blink = False
    await pilot.pause(0.3)


@pytest.fixture
def app(isolated_home, embedder, monkeypatch) -> FieldmindApp:  # type: ignore[no-untyped-def]
    import fieldmind.tui.screens.history as history_screen
    from fieldmind.llm.catalog import Catalog

    monkeypatch.setattr(history_screen, "stamp", lambda _ts: "2026-11-26 08:30")
    monkeypatch.setattr(Catalog, "is_installed", lambda _self, entry: entry.name == "qwen2.5-coder-0.5b-instruct")
    monkeypatch.setattr(Catalog, "is_available", lambda _self, entry: True)
    engine = FakeScriptedEngine(ANSWER, name="qwen2.5-coder-0.5b-instruct")
    return FieldmindApp(load_settings(isolated_home), services_factory(embedder, engine))


class TestScreens:
    def test_first_screen(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        """Before any question: the manual loaded, two questions to try, where documents go, every main key."""

        async def run_before(pilot: Any) -> None:
            await _ready(pilot)
            deadline = time.monotonic() + 30
            while "loaded" not in str(pilot.app.screen.query_one("#loaded").render()):
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_chat_at_120_by_40(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        """The common laptop terminal: the whole footer, the answer and its sources side by side."""
        assert snap_compare(app, terminal_size=(120, 40), run_before=_asked)

    def test_chat_after_a_cited_answer(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        """The answer with its citations; the cited passages first in the sources panel."""
        assert snap_compare(app, terminal_size=SIZE, run_before=_asked)

    def test_source_page(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        """Enter on the first source: the page with the passage highlighted."""

        async def run_before(pilot: Any) -> None:
            await _asked(pilot)
            await pilot.press("ctrl+s", "enter")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_page_picture(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        """From an answer, ctrl+g: the quoted page as a picture (half blocks), the quoted words marked."""

        async def run_before(pilot: Any) -> None:
            await _asked(pilot)
            await pilot.press("ctrl+g")
            deadline = time.monotonic() + 30
            while not pilot.app.screen.query(".page-picture"):
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            assert "marks" in str(pilot.app.screen.query_one("#picture").border_subtitle)
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_library(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot: Any) -> None:
            await _ready(pilot)
            await pilot.press("f2")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_models(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot: Any) -> None:
            await _ready(pilot)
            await pilot.press("f3")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_history(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot: Any) -> None:
            await _asked(pilot)
            await pilot.press("f4")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_light_theme(self, snap_compare, app) -> None:  # type: ignore[no-untyped-def]
        async def run_before(pilot: Any) -> None:
            await _asked(pilot)
            await pilot.press("ctrl+t")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
