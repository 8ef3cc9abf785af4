"""The typed way from a widget or screen to the Fieldmind app that holds it (one `cast`, not `Any`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from fieldmind.tui.app import FieldmindApp


class InApp(Protocol):
    """Screens, widgets and command providers: each knows its app."""

    @property
    def app(self) -> App[Any]: ...


def fieldmind_app(node: InApp) -> FieldmindApp:
    """The app a screen or widget belongs to; every Fieldmind screen runs inside a FieldmindApp."""
    return cast("FieldmindApp", node.app)
