"""Measuring retrieval and answers against a set of verified questions (see shared/eval/README.md).

A retrieved passage is a hit when it comes from the expected document and page, or contains one of the
evidence strings (whitespace folded, case ignored). An answer is right when `found` is true and it holds
every key string; an unanswerable question is handled right when `found` is false.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from fieldmind.errors import FieldmindError

if TYPE_CHECKING:
    from fieldmind.assistant import Answer
    from fieldmind.knowledge.retrieve import Passage

_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class EvalItem:
    id: str
    kind: str
    question: str
    doc: str | None = None
    page: int | None = None
    evidence: tuple[str, ...] = ()
    key: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def load_items(path: Path) -> list[EvalItem]:
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FieldmindError(f"{path}: cannot read the question set ({exc.strerror or exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(
                EvalItem(
                    id=str(raw["id"]),
                    kind=str(raw.get("kind") or "question"),
                    question=str(raw["question"]),
                    doc=raw.get("doc"),
                    page=raw.get("page"),
                    evidence=tuple(raw.get("evidence") or ()),
                    key=tuple(raw.get("key") or ()),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FieldmindError(f"{path}:{number}: not a question record ({exc})") from exc
    return items


def fold(text: str) -> str:
    return _WS.sub(" ", text).strip().casefold()


def _squash(text: str) -> str:
    return _WS.sub("", text).casefold()


def is_hit(item: EvalItem, doc: str, page: int | None, text: str) -> bool:
    if item.doc and item.page is not None and doc == item.doc and page == item.page:
        return True
    folded = fold(text)
    return any(fold(e) in folded for e in item.evidence)


def answer_is_right(item: EvalItem, found: bool, answer: str) -> bool:
    if not item.answerable:
        return not found
    squashed = _squash(answer)
    return found and all(_squash(k) in squashed for k in item.key)


OUTCOMES = ("right", "wrong", "not found (answerable)", "not found (rightly)")
SHORT_ANSWERS = ("holds the key", "misses the key", "over a wrong quote", "not shown")
"""What a found answer's short answer did: held the key facts itself; was shown over a right quote without them
(it may mislead: the quote under it is the answer); was shown over a wrong quote; was not shown (refused by the
check, or none written)."""


def outcome(item: EvalItem, found: bool, shown: str) -> str:
    """right; wrong (an answer shown without the key facts, or any answer to an unanswerable question);
    not found though answerable; not found rightly."""
    if not found:
        return OUTCOMES[2] if item.answerable else OUTCOMES[3]
    return OUTCOMES[0] if item.answerable and answer_is_right(item, True, shown) else OUTCOMES[1]


def short_answer_outcome(item: EvalItem, quote: str, short_answer: str | None) -> str:
    """Which of SHORT_ANSWERS a found answer's short answer is."""
    if not short_answer:
        return SHORT_ANSWERS[3]
    if item.answerable and answer_is_right(item, True, short_answer):
        return SHORT_ANSWERS[0]
    return SHORT_ANSWERS[1] if item.answerable and answer_is_right(item, True, quote) else SHORT_ANSWERS[2]


@dataclass
class RetrievalScore:
    n: int = 0
    at1: int = 0
    at5: int = 0
    reciprocal: float = 0.0

    def add(self, rank: int | None) -> None:
        self.n += 1
        if rank is not None:
            self.at1 += rank == 1
            self.at5 += rank <= 5
            self.reciprocal += 1.0 / rank

    def to_json(self) -> dict[str, Any]:
        n = max(self.n, 1)
        return {
            "n": self.n,
            "recall@1": round(self.at1 / n, 3),
            "recall@5": round(self.at5 / n, 3),
            "mrr": round(self.reciprocal / n, 3),
        }


@dataclass
class EvalReport:
    overall: RetrievalScore = field(default_factory=RetrievalScore)
    by_kind: dict[str, RetrievalScore] = field(default_factory=lambda: defaultdict(RetrievalScore))
    answers: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """Outcome counts per question kind (and "all")."""
    short_answers: dict[str, int] = field(default_factory=dict)
    """For the found answers: counts of SHORT_ANSWERS."""
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "retrieval": {"overall": self.overall.to_json()}
            | {kind: score.to_json() for kind, score in sorted(self.by_kind.items())},
        }
        if self.answers:
            data["answers"] = {
                kind: {"n": len(marks), "right": sum(marks), "rate": round(sum(marks) / len(marks), 3)}
                for kind, marks in sorted(self.answers.items())
            }
        if self.confusion:
            data["confusion"] = self.confusion
        if self.short_answers:
            data["short_answers"] = self.short_answers
        data["questions"] = self.rows
        return data


Search: TypeAlias = "Callable[[str, int], list[Passage]]"
Ask: TypeAlias = "Callable[[str], Answer]"


def evaluate(
    items: Iterable[EvalItem],
    search: Search,
    ask: Ask | None = None,
    k: int = 5,
    done: Callable[[int], None] | None = None,
) -> EvalReport:
    """Retrieval metrics for answerable questions; with `ask`, answer accuracy for every question. `done` is
    told the number of questions finished after each one (asking them all takes minutes)."""
    report = EvalReport()
    for number, item in enumerate(items, start=1):
        row: dict[str, Any] = {"id": item.id, "kind": item.kind}
        if item.answerable:
            passages = search(item.question, k)
            rank = next(
                (n for n, p in enumerate(passages, 1) if is_hit(item, p.doc, p.page, p.text)),
                None,
            )
            report.overall.add(rank)
            report.by_kind[item.kind].add(rank)
            row["rank"] = rank
        if ask is not None:
            answer = ask(item.question)
            shown = answer.shown()
            result = outcome(item, answer.found, shown)
            right = result in (OUTCOMES[0], OUTCOMES[3])
            report.answers["overall"].append(right)
            report.answers["unanswerable" if not item.answerable else "answerable"].append(right)
            for kind in (item.kind, "all"):
                counts = report.confusion.setdefault(kind, dict.fromkeys(OUTCOMES, 0))
                counts[result] += 1
            row |= {"right": right, "outcome": result, "found": answer.found, "answer": shown}
            if answer.found and answer.quote is not None:
                said = short_answer_outcome(item, answer.quote.shown(), answer.short_answer)
                report.short_answers = report.short_answers or dict.fromkeys(SHORT_ANSWERS, 0)
                report.short_answers[said] += 1
                row["short_answer"] = said
        report.rows.append(row)
        if done is not None:
            done(number)
    return report
