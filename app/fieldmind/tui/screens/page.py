"""The page as a picture, the quoted words marked: read a diagram or a table where it is printed."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import ModalScreen
from textual.widgets import Static

from fieldmind.tui.access import fieldmind_app
from fieldmind.tui.widgets.footer import KeysFooter
from fieldmind.tui.widgets.picture import in_half_blocks, picture_rows, picture_widget

ZOOMS = (1.0, 1.5, 2.0, 3.0)
"""Picture width as a multiple of the screen's width."""
HALF_BLOCK_ZOOM = 3
"""In half blocks (tmux, most terminals) a page at 1x is two pixels a cell and its words unreadable: open at 3x,
scrolled to the quote."""
LAYOUT_TRIES = 20
"""Refreshes to wait for the picture's box to have a width before drawing at the narrowest."""


class PageScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    PageScreen #picture { border: round $accent; height: 1fr; background: $surface; }
    PageScreen #picture-note { color: $warning; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="page.back"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", id="page.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", id="page.zoom_out"),
        Binding("pagedown,n", "turn(1)", "Next page", id="page.next"),
        Binding("pageup,p", "turn(-1)", "Previous page", id="page.previous"),
    ]

    def __init__(
        self, doc_id: str, page: int, quote: str | None = None, title: str = "", continued: str | None = None
    ) -> None:
        super().__init__()
        self.doc_id = doc_id
        self.page = page
        self.first_page = page
        self.quote = quote
        self.continued = continued
        """The quote's words that run on at the top of the next page, marked there."""
        self.title_text = title
        self.zoom = HALF_BLOCK_ZOOM if in_half_blocks() else 0
        self.pages = 0

    def compose(self) -> ComposeResult:
        with ScrollableContainer(id="picture") as box:
            box.border_title = self.title_text
            yield Static("rendering the page…", id="picture-note")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#picture").focus()
        self.render_page()

    def render_page(self, tries: int = 0) -> None:
        """The page at the width of its box, once the box is laid out: read before the first layout (as a busy
        machine's worker could) the width is 0, and the page came out 20 cells wide and stayed so."""
        width = self.query_one("#picture", ScrollableContainer).size.width
        if not width and tries < LAYOUT_TRIES:
            self.call_after_refresh(self.render_page, tries + 1)
            return
        self.draw_page(max(20, int(width * ZOOMS[self.zoom]) - 2))

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def draw_page(self, cells: int) -> None:
        """Rendered in a worker: a large page takes a few tenths of a second."""
        app = fieldmind_app(self)
        marks = {self.first_page: self.quote, self.first_page + 1: self.continued}
        quote = marks.get(self.page)
        try:
            picture = app.services.page_picture(self.doc_id, self.page, quote, width=cells * 4)
        except Exception as exc:
            app.call_from_thread(self.query_one("#picture-note", Static).update, f"Cannot show the page: {exc}")
            return
        app.call_from_thread(self._show, picture, cells)

    def _show(self, picture: object, cells: int) -> None:
        from fieldmind.knowledge.picture import PagePicture

        assert isinstance(picture, PagePicture)
        self.pages = picture.pages
        box = self.query_one("#picture", ScrollableContainer)
        for old in box.query(".page-picture"):
            old.remove()
        marked = f" — {len(picture.marked)} marks" if picture.marked else ""
        pan = " · arrows pan" if ZOOMS[self.zoom] > 1 else ""
        box.border_subtitle = f"page {picture.page} of {picture.pages}{marked} · zoom {ZOOMS[self.zoom]:g}x{pan}"
        missed = self.quote and picture.page == self.first_page and not picture.marked
        note = self.query_one("#picture-note", Static)
        note.update("The quoted words were not found on the page picture." if missed else "")
        note.display = bool(missed)
        widget = picture_widget(picture.image)
        widget.add_class("page-picture")
        rows = picture_rows(picture.image, cells)
        widget.styles.width = cells
        widget.styles.height = rows
        box.mount(widget)
        if picture.marked:  # the quote's start in view, near the left, a third from the top; arrows pan on
            left, top = picture.marked[0][0], picture.marked[0][1]
            x, y = left * cells - box.size.width / 8, top * rows - box.size.height / 3
            self.call_after_refresh(box.scroll_to, x=max(0, x), y=max(0, y), animate=False)

    def action_zoom(self, step: int) -> None:
        self.zoom = min(len(ZOOMS) - 1, max(0, self.zoom + step))
        self.render_page()

    def action_turn(self, step: int) -> None:
        target = self.page + step
        if self.pages and not 1 <= target <= self.pages:
            return
        self.page = target
        self.render_page()

    def action_back(self) -> None:
        self.dismiss(None)
