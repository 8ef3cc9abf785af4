"""The errors Fieldmind reports to people: each says what went wrong, with what, and what to do."""

from __future__ import annotations


def shown_value(value: object, limit: int = 60) -> str:
    """A value as an error message shows it: its repr, cut to `limit` characters (a 100 KB value was echoed in
    full)."""
    text = repr(value)
    return text if len(text) <= limit + 20 else f"{text[:limit]}… ({len(text)} characters)"


class FieldmindError(Exception):
    """An error with a message meant for the user, not a traceback."""


class InputError(FieldmindError):
    """A file the user gave us cannot be read as a document (corrupt, encrypted, junk, too big...)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelError(FieldmindError):
    """A model is missing, damaged or cannot be loaded."""


class StoreError(FieldmindError):
    """The knowledge index cannot be opened or written."""
