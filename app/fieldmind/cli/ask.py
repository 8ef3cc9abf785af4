"""`fieldmind ask`: a grounded answer streamed to the terminal, then the pages it came from."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from fieldmind.cli.common import (
    emit_json,
    engine_url_option,
    home_option,
    info,
    json_option,
    make_scope,
    reports_errors,
    scope_options,
    services_for,
)
from fieldmind.files import Progress

if TYPE_CHECKING:
    from fieldmind.answers.quote import Quote
    from fieldmind.assistant import Answer


def _assembly_progress() -> Progress:
    shown = {"pct": -1}

    def progress(done: int, total: int) -> None:
        pct = int(done * 100 / total) if total else 100
        if pct // 10 != shown["pct"] // 10:
            shown["pct"] = pct
            info(f"preparing model: {pct}%")

    return progress


@click.command()
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 20), default=None, help="Passages given to the model.")
@click.option("--model", default=None, help="A catalogue name or a path to a GGUF file.")
@click.option(
    "--card",
    type=click.Choice(["md", "json"]),
    default=None,
    help="Print an answer card for a work order (answer, quote, document, revision, page, provenance).",
)
@click.option(
    "--short/--no-short",
    default=True,
    help="Write a short answer above the quote (--no-short: the quote alone; no model is loaded).",
)
@scope_options
@engine_url_option
@home_option
@json_option
@reports_errors
def ask(
    question: str,
    k: int | None,
    model: str | None,
    card: str | None,
    short: bool,
    scope: tuple[str, ...],
    all_revisions: bool,
    engine_url: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from your documents: the manual's own words, with their page."""
    from fieldmind.assistant import AnswerDone, AnswerPiece, QuoteReady
    from fieldmind.citations import place

    if not question.strip():
        raise click.UsageError('the question is empty; ask something, e.g. fieldmind ask "torque for the head bolts?"')

    services = services_for(home, engine_url)
    repaired, report = services.open_knowledge()
    if repaired:
        info(f"index repaired: {repaired}")
    if report is not None and not as_json:
        info(f"first run: added the demo manual ({report.chunks} passages)")
    assistant = services.assistant(model, progress=_assembly_progress(), short=short)
    answer = None
    limited = make_scope(scope)
    quiet = as_json or card is not None
    for event in assistant.ask_stream(question, k, scope=limited, all_revisions=all_revisions):
        if quiet:
            if isinstance(event, AnswerDone):
                answer = event.answer
            continue
        if isinstance(event, QuoteReady) and event.quote is not None:
            click.echo(quote_block(event.quote.shown()))
            click.echo(f"    — {event.quote.where}{scanned(event.quote)}")
            sys.stdout.flush()
        elif isinstance(event, AnswerPiece):
            click.echo(f"\nIn short: {event.text}")
        elif isinstance(event, AnswerDone):
            answer = event.answer
    assert answer is not None
    if card is not None:
        from fieldmind.cards import card_for

        click.echo(card_for(answer, services.knowledge).render(card))
        return
    if as_json:
        emit_json(answer.to_json())
        return
    for other in answer.differing:
        click.echo("\nYour documents differ — another one says:")
        click.echo(quote_block(other.shown()))
        click.echo(f"    — {other.where}  (tags: {_tags(answer, other)}; narrow with --scope)")
    if not answer.found:
        click.echo(answer.text)
        if answer.closest is not None:
            click.echo("\nThe closest lines in your manuals (they may not answer it):")
            click.echo(quote_block(answer.closest.shown()))
            click.echo(f"    — {answer.closest.where}{scanned(answer.closest)}")
        elif answer.passages:
            click.echo("\nClosest passages (they do not seem to answer it):")
            for n, passage in enumerate(answer.passages[:3], start=1):
                where = place(passage.doc, passage.page, passage.section, revision=passage.revision)
                click.echo(f"  [{n}] {where}")
        return
    t = answer.timings.to_json()
    where = ""
    if services.server is not None:
        where = f" on {services.server.host}" if answer.engine == "server" else f" here ({services.server.reason})"
    if answer.model:
        info(f"(quote in {t['quote_ms']} ms; {answer.model}{where}: {t['tokens']} tokens)")
    else:
        info(f"(quote in {t['quote_ms']} ms; no short answer)")


def _tags(answer: Answer, quote: Quote) -> str:
    tags: dict[str, str] = next((p.tags for p in answer.passages if p.doc_id == quote.doc_id), {})
    return " ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"


def scanned(quote: Quote) -> str:
    """Said after a quote's place when its page was a scan: its words are the recogniser's reading."""
    return f" (read by OCR, {quote.ocr:.0%} sure)" if quote.ocr is not None else ""


def quote_block(text: str) -> str:
    """A quote as shown in a terminal: each line after a bar, so it reads as the manual's words."""
    return "\n".join("  │ " + line for line in text.splitlines())
