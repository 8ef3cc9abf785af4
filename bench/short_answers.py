"""What the model's short answers say, over the quotes the app shows, and what the check lets through.

    python bench/short_answers.py [--json] [--model NAME] [--sets shared-set,apcupsd,demo,avrdude,nut,gpsbabel]

For every question of each set whose quote is shown (found), the default model writes its short answer from
the quote, as in the app (`answers/short.py`). Each is sorted as `fieldmind eval` sorts the shown ones
(`evaluation.SHORT_ANSWERS`): *holds the key* (the short answer itself holds the question's key facts), *misses
the key* (over a right quote: "You should put whatever you like." for a quote that says "set port to auto"),
*over a wrong quote*, *not shown* (nothing written) — then counted as let through by the facts-only check (every
number and identifier in the quote) and by the whole check (`check.faithful`).
A short answer is shown above the quote, so one that misses the key or misreads the quote misleads even
when the quote below it is right. Needs the default model (FIELDMIND_MODEL__DIR, as `fieldmind bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "app"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from answers import prepare  # noqa: E402
from fieldmind.answers import choose, short  # noqa: E402
from fieldmind.answers.check import facts_supported, faithful  # noqa: E402
from fieldmind.answers.quote import select  # noqa: E402
from fieldmind.assistant import SHORT_ANSWER_TOKENS  # noqa: E402
from fieldmind.evaluation import short_answer_outcome  # noqa: E402

SETS = "shared-set,apcupsd,demo,avrdude,nut,gpsbabel"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", default=SETS)
    parser.add_argument(
        "--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-bench-answers"
    )
    parser.add_argument("--model", default=None, help="a catalogue name (default: the embedded default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    rows = prepare([s for s in args.sets.split(",") if s], args.cache, 5)
    with tempfile.TemporaryDirectory() as home:
        engine = Services(load_settings(Path(home), demo_knowledge=False)).assistant(args.model).engine
        assert engine is not None
        engine.load()
        answers: list[dict[str, Any]] = []
        for row in rows:
            sure = choose.confidence(row.windows, row.absent)
            quote = select(row.windows, sure, choose.WEIGHTS, row.next_page)
            if quote is None:
                continue
            question, quoted = row.item.question, quote.shown()
            started = time.perf_counter()
            written = " ".join("".join(engine.stream(short.prompt(question, quoted), SHORT_ANSWER_TOKENS)).split())
            kind = short_answer_outcome(row.item, quoted, written or None)
            acceptable = short.acceptable(written)
            answers.append(
                {
                    "set": row.set,
                    "id": row.item.id,
                    "kind": kind,
                    "short_answer": written,
                    "facts_only": acceptable and facts_supported(written, quoted),
                    "faithful": acceptable and faithful(written, quoted, question),
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
    shown: dict[str, Counter[str]] = {"facts_only": Counter(), "faithful": Counter()}
    for answer in answers:
        for check in shown:
            shown[check][answer["kind"]] += answer[check]
    result = {
        "model": engine.name,
        "quotes": Counter(a["kind"] for a in answers),
        "shown_by_facts_only_check": shown["facts_only"],
        "shown_by_faithful_check": shown["faithful"],
        "answers": answers,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for answer in answers:
        marks = f"{'F' if answer['facts_only'] else '-'}{'W' if answer['faithful'] else '-'}"
        print(f"{answer['set']:10} {answer['id']:4} {marks} {answer['kind']:16} {answer['short_answer'][:90]}")
    for key in ("quotes", "shown_by_facts_only_check", "shown_by_faithful_check"):
        print(f"{key}: {dict(result[key])}")


if __name__ == "__main__":
    main()
