"""The terminal app (Textual): thin screens over the same core the command line uses."""

from __future__ import annotations


def run_tui(home: str | None = None, engine_url: str | None = None) -> None:
    from fieldmind.services import apply_network_policy
    from fieldmind.settings import load_settings, server_engine
    from fieldmind.tui.app import FieldmindApp
    from fieldmind.tui.widgets.picture import prepare_terminal

    settings = load_settings(home, **server_engine(engine_url))
    apply_network_policy(settings)
    prepare_terminal()
    FieldmindApp(settings).run()
