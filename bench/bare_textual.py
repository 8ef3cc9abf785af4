"""The baseline for `fieldmind bench`'s start-up figure: a bare Textual app with one Input, nothing else.

Launched the same way as the app (tmux), it says what Textual itself costs on this machine, so the app's time to
accept keys is read as a ratio to it.
"""

from textual.app import App, ComposeResult
from textual.widgets import Input


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="Ask about your manuals")


if __name__ == "__main__":
    Bare().run()
