"""`fieldmind ask`: a grounded answer streamed to the terminal, then the pages it came from."""

from __future__ import annotations

import sys

import click

from fieldmind.cli.common import emit_json, home_option, info, json_option, reports_errors, services_for


def _assembly_progress() -> object:
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
@home_option
@json_option
@reports_errors
def ask(question: str, k: int | None, model: str | None, home: str | None, as_json: bool) -> None:
    """Answer QUESTION from your documents, citing the pages it came from."""
    from fieldmind.assistant import AnswerDone, AnswerPiece

    services = services_for(home)
    report = services.ensure_demo_knowledge()
    repaired = services.check_index()
    if repaired:
        info(f"index repaired: {repaired}")
    if report is not None and not as_json:
        info(f"first run: added the demo manual ({report.chunks} passages)")
    assistant = services.assistant(model, progress=_assembly_progress())
    answer = None
    streamed = False
    for event in assistant.ask_stream(question, k):
        if isinstance(event, AnswerPiece) and not as_json:
            click.echo(event.text, nl=False)
            sys.stdout.flush()
            streamed = True
        elif isinstance(event, AnswerDone):
            answer = event.answer
    assert answer is not None
    if as_json:
        emit_json(answer.to_json())
        return
    if not answer.found:
        if streamed:
            click.echo("\n\n" + answer.text + " (The text above is not supported by them: ignore it.)")
        else:
            click.echo(answer.text)
        return
    click.echo("\n\nSources:")
    for n, passage in enumerate(answer.citations, start=1):
        where = f"{passage.doc}, page {passage.page}" if passage.page else passage.doc
        click.echo(f"  [{n}] {where}" + (f" — {passage.section}" if passage.section else ""))
    t = answer.timings.to_json()
    info(f"({answer.model}: first word {t['first_token_ms']} ms, {t['tokens_per_s']} tokens/s)")
