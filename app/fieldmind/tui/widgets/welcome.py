"""The first screen's words: what is loaded, two questions to try, and where a technician's own manuals go."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fieldmind.welcome import Welcome

ADD_DOCUMENTS = "Your own manuals: F2 Library to add a file or folder, or in a shell: fieldmind ingest FOLDER"


class WelcomeView(Vertical):
    """Shown in the empty conversation until the first question; picking an example asks it."""

    DEFAULT_CSS = """
    WelcomeView { height: auto; padding: 1 0 0 0; }
    WelcomeView .lead { text-style: bold; }
    WelcomeView .muted { color: $text-muted; }
    WelcomeView #examples { height: auto; max-height: 4; border: none; margin: 0 0 1 2; }
    """

    class Picked(Message):
        """An example question was chosen: the chat screen asks it."""

        def __init__(self, question: str) -> None:
            super().__init__()
            self.question = question

    def compose(self) -> ComposeResult:
        yield Static("Fieldmind answers from your manuals and shows the page each answer came from.", classes="lead")
        yield Static("Opening your documents…", id="loaded", classes="muted")
        yield Static("", id="try")
        yield OptionList(id="examples")
        yield Static(ADD_DOCUMENTS, classes="muted")

    def on_mount(self) -> None:
        self.query_one("#examples", OptionList).display = False

    def show(self, welcome: Welcome) -> None:
        """Fill in what start-up found (from the app's thread)."""
        self.query_one("#loaded", Static).update(welcome.loaded())
        examples = self.query_one("#examples", OptionList)
        examples.clear_options()
        for question in welcome.examples:
            examples.add_option(Option(f"› {question}"))
        examples.display = bool(welcome.examples)
        if welcome.examples:
            examples.highlighted = 0
        hint = "Type a question below, or Tab to an example and press Enter:" if welcome.examples else ""
        if not welcome.documents:
            hint = "Add a manual first (below), then ask it as you would ask a colleague."
        self.query_one("#try", Static).update(hint)
        self.welcome = welcome

    @on(OptionList.OptionSelected, "#examples")
    def picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(self.welcome.examples[event.option_index]))
