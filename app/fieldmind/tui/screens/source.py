"""A cited passage in its page: the page's full text with the passage highlighted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from fieldmind.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from fieldmind.knowledge.context import PageContext


class SourceScreen(ModalScreen[None]):
    """Check an answer against the manual."""

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="source.back", tooltip="Back to the answer"),
        Binding("p", "picture", "Page picture", id="source.picture", tooltip="The page as printed, marked"),
    ]

    def __init__(self, context: PageContext, doc_id: str | None = None, page: int | None = None) -> None:
        super().__init__()
        self.context = context
        self.doc_id = doc_id
        self.page = page

    def compose(self) -> ComposeResult:
        if self.context.kind == "markdown":
            from fieldmind.tui.markdown_view import render_markdown

            text = render_markdown(self.context.text, self.context.start, self.context.end)
        else:
            text = Text(self.context.text)
            if self.context.start >= 0:
                text.stylize("reverse bold", self.context.start, self.context.end)
        with VerticalScroll(id="page") as scroll:
            scroll.border_title = self.context.title
            yield Static(text, id="page-text")
        yield KeysFooter()

    def on_mount(self) -> None:
        page = self.query_one("#page", VerticalScroll)
        page.focus()
        if self.context.start > 0:
            line = self.context.text.count("\n", 0, self.context.start)
            self.call_after_refresh(page.scroll_to, 0, max(0, line - 3), animate=False)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_picture(self) -> None:
        from fieldmind.tui.screens.page import PageScreen

        if self.doc_id is None or self.page is None or self.context.kind != "pdf":
            self.notify("Only a page of a PDF has a picture.")
            return
        start, end = self.context.start, self.context.end
        marked = self.context.text[start:end] if start >= 0 else None
        self.app.push_screen(PageScreen(self.doc_id, self.page, marked, self.context.title))
