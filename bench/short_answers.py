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

`--closest` also has the model write over the closest lines (not found: confidence between `Weights.closest`
and the threshold) and asks whether a faithful short answer tells lines that answer from lines that do not —
whether "found" could wait for the short answer and take it as evidence (`found_when_faithful`: the answers
found, right and wrong, on the calibration and held-out sets, if a faithful short answer lowered the threshold
to each of `LOWER`). Measured and not kept (docs/quality.md, "Short answers").
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

from answers import CALIBRATION, prepare  # noqa: E402
from fieldmind.answers import choose, short  # noqa: E402
from fieldmind.answers.check import facts_supported, faithful  # noqa: E402
from fieldmind.answers.quote import closest_lines, select  # noqa: E402
from fieldmind.assistant import SHORT_ANSWER_TOKENS  # noqa: E402
from fieldmind.evaluation import answer_is_right, short_answer_outcome  # noqa: E402

SETS = "shared-set,apcupsd,demo,avrdude,nut,gpsbabel"
LOWER = (0.9, 0.85, 0.8, 0.75)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", default=SETS)
    parser.add_argument(
        "--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-bench-answers"
    )
    parser.add_argument("--model", default=None, help="a catalogue name (default: the embedded default)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--closest", action="store_true", help="also over the closest lines (see above)")
    args = parser.parse_args()
    from fieldmind.services import Services
    from fieldmind.settings import load_settings

    rows = prepare([s for s in args.sets.split(",") if s], args.cache, 5)
    with tempfile.TemporaryDirectory() as home:
        engine = Services(load_settings(Path(home), demo_knowledge=False)).assistant(args.model).engine
        assert engine is not None
        engine.load()
        answers: list[dict[str, Any]] = []
        closest: list[dict[str, Any]] = []
        for row in rows:
            sure = choose.confidence(row.windows, row.absent)
            quote = select(row.windows, sure, choose.WEIGHTS, row.next_page)
            if quote is None:
                lines = closest_lines(row.windows, sure, choose.WEIGHTS, row.next_page)
                if args.closest and lines is not None:
                    closest.append(_over_closest(engine, row, lines.shown(), sure))
                continue
            question, quoted = row.item.question, quote.shown()
            started = time.perf_counter()
            written = _write(engine, question, quoted)
            kind = short_answer_outcome(row.item, quoted, written or None)
            acceptable = short.acceptable(written)
            answers.append(
                {
                    "set": row.set,
                    "id": row.item.id,
                    "kind": kind,
                    "quote_right": row.item.answerable and answer_is_right(row.item, True, quoted),
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
    result: dict[str, Any] = {
        "model": engine.name,
        "quotes": Counter(a["kind"] for a in answers),
        "shown_by_facts_only_check": shown["facts_only"],
        "shown_by_faithful_check": shown["faithful"],
        "answers": answers,
    }
    if args.closest:
        result["closest"] = _closest_summary(answers, closest)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for answer in answers:
        marks = f"{'F' if answer['facts_only'] else '-'}{'W' if answer['faithful'] else '-'}"
        print(f"{answer['set']:10} {answer['id']:4} {marks} {answer['kind']:16} {answer['short_answer'][:90]}")
    for key in ("quotes", "shown_by_facts_only_check", "shown_by_faithful_check"):
        print(f"{key}: {dict(result[key])}")
    if args.closest:
        print(f"closest lines, faithful / not: {result['closest']['lines']}")
        for lower, counts in result["closest"]["found_when_faithful"].items():
            print(f"found when faithful and confidence >= {lower}: {counts}")


def _write(engine: Any, question: str, quoted: str) -> str:
    """The model's short answer from the quote, as the app asks for it."""
    return " ".join("".join(engine.stream(short.prompt(question, quoted), SHORT_ANSWER_TOKENS)).split())


def _over_closest(engine: Any, row: Any, quoted: str, sure: float) -> dict[str, Any]:
    """The short answer over closest lines, and what the lines are: right, wrong, or for no answerable question."""
    question = row.item.question
    written = _write(engine, question, quoted)
    lines = (
        "unanswerable" if not row.item.answerable else ("right" if answer_is_right(row.item, True, quoted) else "wrong")
    )
    return {
        "set": row.set,
        "id": row.item.id,
        "confidence": round(sure, 3),
        "lines": lines,
        "short_answer": written,
        "faithful": short.acceptable(written) and faithful(written, quoted, question),
    }


def _closest_summary(answers: list[dict[str, Any]], closest: list[dict[str, Any]]) -> dict[str, Any]:
    """How faithful short answers split the closest lines, and what lowering the threshold for them would find."""
    lines = Counter(f"{c['lines']} {'faithful' if c['faithful'] else 'not'}" for c in closest)
    now: dict[str, Counter[str]] = {"calibration": Counter(), "held_out": Counter()}
    for answer in answers:  # found now; a right quote counted right whatever its short answer
        side = "calibration" if answer["set"] in CALIBRATION else "held_out"
        now[side]["right" if answer["quote_right"] else "wrong"] += 1
    found: dict[str, Any] = {}
    for lower in LOWER:
        counts = {side: Counter(count) for side, count in now.items()}
        for c in closest:
            if c["faithful"] and c["confidence"] >= lower:
                side = "calibration" if c["set"] in CALIBRATION else "held_out"
                counts[side]["right" if c["lines"] == "right" else "wrong"] += 1
        found[str(lower)] = {side: dict(count) for side, count in counts.items()}
    return {"lines": dict(lines), "found_when_faithful": found, "over": closest}


if __name__ == "__main__":
    main()
