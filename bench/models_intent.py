"""Intent figures of the quality bench: the text classifier on held-out generated tickets and on BANKING77.

    python bench/models_intent.py [--quick]

Generated tickets: a retail folder is generated (scenarios.retail.generate; 10,000 customers, 3,000 with
--quick); the head is trained as the platform trains it (models/text.py: frozen MiniLM sentence vectors plus
character n-grams, a logistic head, `other` calibrated on held-out classes) on the categories agents filed
the OLDER finished tickets under — noisy, as agents are — and judged on the NEWEST fifth of all tickets
against the intent the customer really had (the truth folder), overall, per language and by macro-F1,
beside a TF-IDF + logistic baseline and the majority class. No profile features here: the platform path
(`zhongtai demo`) joins them and keeps them only if they help.

BANKING77 (/work/shared/data/banking77, CC BY 4.0): the same head trained on train.csv, accuracy on
test.csv, with the seconds it took to encode and fit on this machine's CPU (torch with 2 threads); --quick
trains on 2,000 rows and tests on 1,000.

`run(quick)` returns {"rows": [...], "figures": {...}} for bench/models.py; run as a script it prints the
table and then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BANKING77 = Path("/work/shared/data/banking77")
SEED = 7


def _tickets(customers: int, folder: Path) -> dict[str, Any]:
    """Generated tickets oldest first: normalised text, agent category (None if unfiled), true intent,
    detected and true language."""
    import pyarrow.parquet as pq

    from zhongtai.models.text_encoder import language, normalize
    from zhongtai.scenarios.retail.generate import generate

    generate(folder, customers, seed=SEED)
    truth = {
        row["ticket_id"]: (row["intent"], row["language"])
        for row in pq.read_table(folder / "truth" / "ticket_intents.parquet").to_pylist()
    }
    records = [
        json.loads(line)
        for line in (folder / "systems" / "service" / "tickets.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    records.sort(key=lambda r: (r["created_at"], r["ticket_id"]))
    texts = [normalize(r["text"]) for r in records]
    return {
        "texts": texts,
        "category": np.array([r["category"] for r in records], dtype=object),
        "intent": np.array([truth[r["ticket_id"]][0] for r in records], dtype=object),
        "language": np.array([language(t) for t in texts], dtype=object),  # as the trainer sees it
        "true_language": np.array([truth[r["ticket_id"]][1] for r in records], dtype=object),
    }


def ticket_figures(customers: int) -> dict[str, Any]:
    """Train on the agents' categories of the older 80%, judge on the newest 20% against the truth."""
    from zhongtai.models.text import fit_text_model, language_accuracy, language_weights
    from zhongtai.models.text_encoder import embed
    from zhongtai.models.text_head import HeadInputs
    from zhongtai.models.text_metrics import classification_metrics, majority_metrics, ngram_baseline
    from zhongtai.spec.text_task import TextSpec

    with tempfile.TemporaryDirectory() as tmp:
        data = _tickets(customers, Path(tmp) / "retail")
    total = len(data["texts"])
    cut = int(total * 0.8)
    filed = np.array([c is not None for c in data["category"]])
    train = np.flatnonzero(filed[:cut])
    valid = np.arange(cut, total)
    started = time.perf_counter()
    embeddings = embed(data["texts"])
    encode_s = time.perf_counter() - started
    inputs = HeadInputs(embeddings, data["texts"], np.zeros((total, 0)), language_weights(data["language"]))
    # Labels: the agents' categories where filed (training), the truth everywhere the head is judged.
    labels = np.where(filed, data["category"], data["intent"]).astype(object)
    labels[valid] = data["intent"][valid]
    fitted = fit_text_model(inputs, labels, train, valid, TextSpec(profile="never"), [])
    truth = data["intent"][valid]
    model = classification_metrics(truth, fitted.valid_predictions)
    per_language = language_accuracy(fitted.valid_predictions, truth, data["true_language"][valid])
    baseline = ngram_baseline(data["texts"], labels, train, valid)
    majority = majority_metrics(labels[train], truth)
    return {
        "tickets": total,
        "train_rows": int(train.size),
        "validation_rows": int(valid.size),
        "encode_s": round(encode_s, 2),
        "model": {**model, **per_language},
        "baseline": baseline,
        "majority": majority,
        "oos_recall": fitted.metrics["validation"]["oos_recall"],
        "threshold": fitted.threshold,
        "head": fitted.variant,
    }


def banking77_figures(quick: bool) -> dict[str, Any]:
    """The head on BANKING77: test accuracy, training seconds (encode + fit), TF-IDF baseline."""
    import csv

    from zhongtai.models.text_encoder import embed, normalize
    from zhongtai.models.text_head import HeadInputs, fit_head
    from zhongtai.models.text_metrics import classification_metrics, ngram_baseline

    def read(name: str, limit: int | None) -> tuple[list[str], np.ndarray]:
        with (BANKING77 / name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if limit is not None:
            rows = [rows[i] for i in np.random.default_rng(SEED).permutation(len(rows))[:limit]]
        return [normalize(r["text"]) for r in rows], np.array([r["category"] for r in rows], dtype=object)

    train_texts, train_y = read("train.csv", 2000 if quick else None)
    test_texts, test_y = read("test.csv", 1000 if quick else None)
    started = time.perf_counter()
    train_inputs = HeadInputs(embed(train_texts), train_texts, np.zeros((len(train_texts), 0)))
    head = fit_head(train_inputs, train_y, ngrams=True)
    train_s = time.perf_counter() - started
    test_inputs = HeadInputs(embed(test_texts), test_texts, np.zeros((len(test_texts), 0)))
    predicted = np.array(head.classes, dtype=object)[head.proba(test_inputs).argmax(axis=1)]
    texts = train_texts + test_texts
    labels = np.concatenate([train_y, test_y])
    positions = np.arange(len(texts))
    baseline = ngram_baseline(texts, labels, positions[: len(train_texts)], positions[len(train_texts) :])
    return {
        "train_rows": len(train_texts),
        "test_rows": len(test_texts),
        "train_s": round(train_s, 1),
        "model": classification_metrics(test_y, predicted),
        "baseline": baseline,
    }


def run(quick: bool, customers: int | None = None) -> dict[str, Any]:
    """The intent rows and figures of the quality bench (see the module docstring); `customers` sizes the
    generated retailer (default 10,000, 3,000 with `quick`). Rows hold figures with a baseline; accuracy
    per language and out-of-scope recall are in the figures."""
    import torch

    torch.set_num_threads(2)
    tickets = ticket_figures(customers or (3000 if quick else 10000))
    banking = banking77_figures(quick)
    model, baseline = tickets["model"], tickets["baseline"]
    rows = [
        {
            "task": "intent",
            "metric": "accuracy (tickets)",
            "model": model["accuracy"],
            "baseline": baseline["accuracy"],
        },
        {
            "task": "intent",
            "metric": "macro-F1 (tickets)",
            "model": model["macro_f1"],
            "baseline": baseline["macro_f1"],
        },
        {
            "task": "intent",
            "metric": "accuracy vs majority",
            "model": model["accuracy"],
            "baseline": tickets["majority"]["accuracy"],
        },
        {
            "task": "intent",
            "metric": "BANKING77 accuracy",
            "model": banking["model"]["accuracy"],
            "baseline": banking["baseline"]["accuracy"],
        },
    ]
    figures = {
        "intent_acc": model["accuracy"],
        "intent_macro_f1": model["macro_f1"],
        "intent_acc_zh": model.get("accuracy_zh"),
        "intent_acc_en": model.get("accuracy_en"),
        "intent_oos_recall": tickets["oos_recall"],
        "intent_baseline_acc": baseline["accuracy"],
        "intent_tickets": tickets["tickets"],
        "intent_encode_s": tickets["encode_s"],
        "banking77_acc": banking["model"]["accuracy"],
        "banking77_macro_f1": banking["model"]["macro_f1"],
        "banking77_train_s": banking["train_s"],
        "banking77_baseline_acc": banking["baseline"]["accuracy"],
        "banking77_train_rows": banking["train_rows"],
    }
    return {"rows": rows, "figures": figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 customers; BANKING77 on 2,000 rows")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(f"{'task':8} {'metric':24} {'model':>8} {'baseline':>9}")
    for row in result["rows"]:
        model = "-" if row["model"] is None else f"{row['model']:.4f}"
        baseline = "-" if row["baseline"] is None else f"{row['baseline']:.4f}"
        print(f"{row['task']:8} {row['metric']:24} {model:>8} {baseline:>9}")
    print(json.dumps(result["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
