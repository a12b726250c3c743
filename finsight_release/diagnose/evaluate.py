"""Score the classifier and a one-line keyword baseline on the labelled corpus of real error output.

    python -m finsight_release.diagnose.evaluate [--split holdout|tune|all] [--json]

The corpus (``corpus/corpus.jsonl``) holds error output copied from public issue threads and docs,
each with its source URL, labelled with its root-cause class. Rules are tuned on ``tune`` only; the
``holdout`` split is looked at for the final score and nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from finsight_release.diagnose.categories import Category
from finsight_release.diagnose.classifier import diagnose_text

CORPUS_PATH = Path(__file__).parent / "corpus" / "corpus.jsonl"

# The baseline: the first class (in id order) whose own keyword appears in the text.
BASELINE_KEYWORDS: dict[Category, str] = {
    Category.CI_PIPELINE: "workflow",
    Category.CONTAINER_BUILD: "docker",
    Category.DEPENDENCY_CONFLICT: "module",
    Category.IAC_CHANGE: "terraform",
    Category.INFRA_DRIFT: "drift",
    Category.DAG_PARSE: "dag",
    Category.CONFIG_SECRETS: "secret",
    Category.BAD_CREDENTIALS: "password",
    Category.WAREHOUSE_CONNECTIVITY: "connect",
    Category.SCHEMA_CHANGE: "column",
    Category.DATA_QUALITY: "test",
    Category.RESOURCE_EXHAUSTION: "memory",
}


class CorpusExample(BaseModel):
    """One labelled piece of real error output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: Category
    split: str
    source: str
    text: str
    hard: bool


@dataclass(frozen=True)
class ClassScore:
    """Precision, recall and F1 of one class."""

    precision: float
    recall: float
    f1: float
    support: int


def load_corpus(path: Path = CORPUS_PATH, split: str = "all") -> list[CorpusExample]:
    """The corpus examples of one split (``tune``, ``holdout``) or ``all``."""
    examples = [CorpusExample.model_validate_json(line) for line in path.read_text().splitlines() if line]
    return [e for e in examples if split == "all" or e.split == split]


def baseline_predict(text: str) -> Category:
    """One-line keyword baseline: first class whose keyword occurs, else ci_pipeline."""
    lower = text.lower()
    return next((c for c, word in BASELINE_KEYWORDS.items() if word in lower), Category.CI_PIPELINE)


def classifier_predict(text: str) -> Category:
    """The real classifier, without context."""
    return diagnose_text(text).category


def per_class_scores(truth: Sequence[Category], predicted: Sequence[Category]) -> dict[Category, ClassScore]:
    """Precision/recall/F1 for every class (0 where undefined)."""
    scores: dict[Category, ClassScore] = {}
    for category in Category:
        tp = sum(t == category and p == category for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != category and p == category for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == category and p != category for t, p in zip(truth, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[category] = ClassScore(round(precision, 3), round(recall, 3), round(f1, 3), tp + fn)
    return scores


def evaluate(examples: Sequence[CorpusExample], predict: Callable[[str], Category]) -> dict[str, object]:
    """Accuracy (overall and on hard cases), per-class scores and the misses of one predictor."""
    truth = [e.category for e in examples]
    predicted = [predict(e.text) for e in examples]
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    hard = [c for c, e in zip(correct, examples, strict=True) if e.hard]
    return {
        "accuracy": round(sum(correct) / len(examples), 3) if examples else 0.0,
        "hard_accuracy": round(sum(hard) / len(hard), 3) if hard else 0.0,
        "per_class": {str(c): vars(s) for c, s in per_class_scores(truth, predicted).items()},
        "misses": [
            {"id": e.id, "expected": str(t), "got": str(p)}
            for e, t, p, ok in zip(examples, truth, predicted, correct, strict=True)
            if not ok
        ],
    }


def report(split: str) -> dict[str, object]:
    """Classifier and baseline side by side on one split."""
    examples = load_corpus(split=split)
    return {
        "split": split,
        "examples": len(examples),
        "classifier": evaluate(examples, classifier_predict),
        "baseline": evaluate(examples, baseline_predict),
    }


def render_table(result: dict[str, object]) -> str:
    """A plain-text table: per class P/R/F1 for classifier and baseline."""
    clf, base = result["classifier"], result["baseline"]
    assert isinstance(clf, dict) and isinstance(base, dict)
    lines = [
        f"split={result['split']}  examples={result['examples']}",
        f"accuracy:      classifier {clf['accuracy']:.3f}   baseline {base['accuracy']:.3f}",
        f"hard accuracy: classifier {clf['hard_accuracy']:.3f}   baseline {base['hard_accuracy']:.3f}",
        "",
        f"{'class':<24}{'n':>4}  {'P':>6}{'R':>6}{'F1':>6}   {'base P':>7}{'R':>6}{'F1':>6}",
    ]
    for name, score in clf["per_class"].items():
        b = base["per_class"][name]
        lines.append(
            f"{name:<24}{score['support']:>4}  {score['precision']:>6.2f}{score['recall']:>6.2f}{score['f1']:>6.2f}"
            f"   {b['precision']:>7.2f}{b['recall']:>6.2f}{b['f1']:>6.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m finsight_release.diagnose.evaluate``."""
    parser = argparse.ArgumentParser(description="accuracy of the failure classifier vs a keyword baseline")
    parser.add_argument("--split", choices=["holdout", "tune", "all"], default="holdout")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--misses", action="store_true", help="list misclassified example ids")
    args = parser.parse_args(argv)
    result = report(args.split)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    sys.stdout.write(render_table(result) + "\n")
    if args.misses:
        for miss in result["classifier"]["misses"]:  # type: ignore[index]
            sys.stdout.write(f"  miss {miss['id']}: got {miss['got']}\n")


if __name__ == "__main__":
    main()
