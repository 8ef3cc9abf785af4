"""The reader's development figures: does the best stretch hold the line, by the reader and by today's score,
and how well the best stretch's reading tells a right one from the rest (ROC AUC)."""

from __future__ import annotations

from typing import Any


def auc(scores: list[float], labels: list[int]) -> float | None:
    """ROC AUC: the chance a random positive scores above a random negative (ties count half)."""
    positive = [s for s, y in zip(scores, labels, strict=True) if y]
    negative = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positive or not negative:
        return None
    ranked = sorted((s, y) for s, y in zip(scores, labels, strict=True))
    rank_sum, index = 0.0, 0
    while index < len(ranked):
        end = index
        while end < len(ranked) and ranked[end][0] == ranked[index][0]:
            end += 1
        mean_rank = (index + end + 1) / 2
        rank_sum += mean_rank * sum(y for _, y in ranked[index:end])
        index = end
    n_pos, n_neg = len(positive), len(negative)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def measure(rows: list[dict[str, Any]], predict: Any, residual: float | None = None) -> dict[str, Any]:
    """On the development questions: does the best stretch (by the reader, and by today's score) hold the line,
    and how well does the best stretch's reader score tell answerable-and-held from the rest (ROC AUC). A residual
    reader is also measured as the app would use it: today's score + `residual` × its logit."""
    top_reader = top_today = top_both = answerable = 0
    best_scores: list[float] = []
    best_right: list[int] = []
    for row in rows:
        candidates = row["candidates"]
        scores = predict([(row["question"], c["text"]) for c in candidates])
        best = max(range(len(candidates)), key=lambda i: scores[i])
        today = max(range(len(candidates)), key=lambda i: candidates[i]["score"])
        both = max(range(len(candidates)), key=lambda i: candidates[i]["score"] + (residual or 0.0) * scores[i])
        right = int(candidates[best]["label"] == 1)
        if row["kind"] != "unanswerable":
            answerable += 1
            top_reader += right
            top_today += candidates[today]["label"] == 1
            top_both += candidates[both]["label"] == 1
        best_scores.append(float(scores[best]))
        best_right.append(right)
    return {
        "questions": len(rows),
        "answerable": answerable,
        "best_holds_line_reader": round(top_reader / max(answerable, 1), 3),
        "best_holds_line_today": round(top_today / max(answerable, 1), 3),
        "best_holds_line_today_plus_reader": round(top_both / max(answerable, 1), 3) if residual else None,
        "best_score_auc": round(auc(best_scores, best_right) or 0.0, 3),
    }
