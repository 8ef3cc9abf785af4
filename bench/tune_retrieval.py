"""How passage size and the keyword weight were chosen: recall on the eval questions for each setting.

Run: .venv/bin/python bench/tune_retrieval.py [--sizes 40:10,60:10,80:15,120:20] [--weights 0,0.1,0.2,0.3,0.5]
Prints one JSON line per (size, overlap, weight) with recall@1/recall@5 overall and per question kind.
Each size gets its own index (real parsing, chunking and embedding); weights are swept over it.

Measured here (2026-11, eval set of 30 answerable questions): 60 words with 10 overlap and weight 0.3
gave recall@1 0.77, recall@5 1.00, keyword recall@1 0.90; 180-word passages reached only 0.83 recall@5
(MiniLM reads 256 word pieces, so long passages are cut), and reciprocal rank fusion of dense and BM25
lists did worse than adding max-normalised BM25 of the question's rare terms to the cosine similarity.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

import fieldmind.knowledge.retrieve as retrieve  # noqa: E402
from fieldmind.evaluation import evaluate, load_items  # noqa: E402
from fieldmind.knowledge.embedder import Embedder  # noqa: E402
from fieldmind.knowledge.index import KnowledgeBase  # noqa: E402
from fieldmind.settings import KnowledgeSettings  # noqa: E402

EVAL = ROOT / "tests" / "data" / "shared-set"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="40:10,60:10,80:15,120:20")
    parser.add_argument("--weights", default="0,0.1,0.2,0.3,0.5")
    parser.add_argument("--qa", type=Path, default=EVAL / "qa.jsonl")
    parser.add_argument("--docs", type=Path, default=EVAL)
    args = parser.parse_args()
    embedder = Embedder()
    embedder.load()
    items = load_items(args.qa)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            words, overlap = (int(x) for x in size.split(":"))
            settings = KnowledgeSettings(chunk_words=words, chunk_overlap_words=overlap)
            kb = KnowledgeBase(Path(tmp) / size.replace(":", "-"), settings, embedder)
            kb.ingest(sorted(args.docs.glob("*.pdf")) if args.docs.is_dir() else [args.docs])
            for weight in (float(w) for w in args.weights.split(",")):
                retrieve.SPECIFIC_WEIGHT = weight
                scores = evaluate(items, kb.search).to_json()["retrieval"]
                print(json.dumps({"words": words, "overlap": overlap, "weight": weight, **scores}), flush=True)
            kb.close()


if __name__ == "__main__":
    main()
