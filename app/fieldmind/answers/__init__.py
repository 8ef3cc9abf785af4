"""Evidence-first answers: units of the manual's text, choosing among them, the quote, the facts check."""
