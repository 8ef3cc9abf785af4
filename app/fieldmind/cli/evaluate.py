"""`fieldmind eval`: retrieval recall and answer accuracy on a set of verified questions."""

from __future__ import annotations

from pathlib import Path

import click

from fieldmind.cli.common import (
    emit_json,
    home_option,
    info,
    json_option,
    progress_line,
    reports_errors,
    services_for,
)
from fieldmind.pace import Pace


@click.command("eval")
@click.argument("qa_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--docs",
    "docs_dir",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Ingest these documents first (incremental).",
)
@click.option("--answers/--no-answers", default=True, help="Also ask every question (needs the model).")
@click.option("--model", default=None, help="A catalogue name or a path to a GGUF file.")
@home_option
@json_option
@reports_errors
def evaluate(
    qa_file: Path, docs_dir: Path | None, answers: bool, model: str | None, home: str | None, as_json: bool
) -> None:
    """Report recall@1, recall@5 and MRR per question kind, and how often answers are right."""
    from fieldmind.evaluation import evaluate as run_eval
    from fieldmind.evaluation import load_items

    services = services_for(home)
    if docs_dir is not None:
        services.knowledge.ingest([docs_dir])
    items = load_items(qa_file)
    ask = services.assistant(model).ask if answers else None
    pace = Pace(len(items))

    def done(count: int) -> None:
        if not as_json:
            progress_line(f"eval: {pace.describe(count, 'questions')}", last=count == len(items))

    report = run_eval(items, services.knowledge.search, ask, done=done)
    if as_json:
        emit_json(report.to_json())
        return
    data = report.to_json()
    click.echo(f"{'kind':14} {'n':>3} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}")
    for kind, score in data["retrieval"].items():
        r1, r5, mrr = score["recall@1"], score["recall@5"], score["mrr"]
        click.echo(f"{kind:14} {score['n']:>3} {r1:>9.3f} {r5:>9.3f} {mrr:>6.3f}")
    for kind, score in data.get("answers", {}).items():
        info(f"answers {kind}: {score['right']}/{score['n']} right ({score['rate']:.0%})")
    if "confusion" in data:
        click.echo("")
        click.echo(confusion_table(data["confusion"]))
    if "short_answers" in data:
        said = ", ".join(f"{what}: {count}" for what, count in data["short_answers"].items())
        click.echo(f"short answers of the found answers: {said}")


def confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    """Outcomes per question kind: right, wrong (shown without the key facts), not found though answerable,
    not found rightly."""
    from fieldmind.evaluation import OUTCOMES

    headers = ["kind", "right", "wrong", "not found (answerable)", "not found (rightly)"]
    widths = [max(14, *(len(k) for k in confusion)), 6, 6, 22, 19]
    lines = ["  ".join(h.rjust(w) if n else h.ljust(w) for n, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    for kind, counts in sorted(confusion.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        cells = [kind.ljust(widths[0])] + [
            str(counts.get(o, 0)).rjust(w) for o, w in zip(OUTCOMES, widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)
