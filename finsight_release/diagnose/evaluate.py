"""Score the classifier and a one-line keyword baseline on labelled sets of real error output.

    python -m finsight_release.diagnose.evaluate [--set corpus|second] [--split holdout|tune|all] [--json]

The corpus (``corpus/corpus.jsonl``) holds error output copied from public issue threads and docs,
each with its source URL, labelled with its root-cause class. Rules are tuned on ``tune`` only; the
``holdout`` split is looked at for the final score and nothing else.

The second set (``corpus/second_set.jsonl``) is independent: other projects' issue trackers and docs,
none of the corpus's sources, labelled and committed before the classifier was first run on it, and
never used for tuning. ``unclassified`` counts as a miss for recall and accuracy but is no false
positive of any class; the reliability table says how often answers at each confidence were right.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from finsight_release.diagnose import classifier as classifier_module
from finsight_release.diagnose import patterns
from finsight_release.diagnose.categories import ROOT_CAUSES, Category
from finsight_release.diagnose.classifier import diagnose_text

CORPUS_PATH = Path(__file__).parent / "corpus" / "corpus.jsonl"
SECOND_SET_PATH = Path(__file__).parent / "corpus" / "second_set.jsonl"
SETS: dict[str, Path] = {"corpus": CORPUS_PATH, "second": SECOND_SET_PATH}
# Confidence bins of the reliability table (lower bounds, highest first).
RELIABILITY_BINS: tuple[float, ...] = (0.8, 0.6, 0.35, 0.0)

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
    """The examples of one split (``tune``, ``holdout``; ``second`` in the second set) or ``all``."""
    examples = [
        CorpusExample.model_validate_json(line) for line in path.read_text().splitlines() if line
    ]
    return [e for e in examples if split == "all" or e.split == split]


def baseline_predict(text: str) -> Category:
    """One-line keyword baseline: first class whose keyword occurs, else ci_pipeline."""
    lower = text.lower()
    return next((c for c, word in BASELINE_KEYWORDS.items() if word in lower), Category.CI_PIPELINE)


def classifier_predict(text: str) -> Category:
    """The real classifier, without context (may answer ``unclassified``)."""
    return diagnose_text(text).category


def reliability(examples: Sequence[CorpusExample]) -> list[dict[str, object]]:
    """Of the classifier's answers in each confidence bin, how many were right.

    ``unclassified`` answers form their own row (right = none: abstaining names no cause).
    """
    rows: dict[str, list[int]] = {f">={low}": [0, 0] for low in RELIABILITY_BINS}
    rows["unclassified"] = [0, 0]
    for example in examples:
        diagnosis = diagnose_text(example.text)
        if diagnosis.category is Category.UNCLASSIFIED:
            key = "unclassified"
        else:
            key = next(f">={low}" for low in RELIABILITY_BINS if diagnosis.confidence >= low)
        rows[key][0] += 1
        rows[key][1] += diagnosis.category == example.category
    return [
        {
            "confidence": key,
            "answers": n,
            "right": right,
            "share_right": round(right / n, 3) if n else None,
        }
        for key, (n, right) in rows.items()
    ]


def calibration_at(table: list[dict[str, object]], low: float = 0.8) -> dict[str, object]:
    """The reliability row of answers given with confidence >= ``low``."""
    return next(row for row in table if row["confidence"] == f">={low}")


def per_class_scores(
    truth: Sequence[Category], predicted: Sequence[Category]
) -> dict[Category, ClassScore]:
    """Precision/recall/F1 for every root-cause class (0 where undefined); ``unclassified`` is no class."""
    scores: dict[Category, ClassScore] = {}
    for category in ROOT_CAUSES:
        tp = sum(t == category and p == category for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != category and p == category for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == category and p != category for t, p in zip(truth, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[category] = ClassScore(round(precision, 3), round(recall, 3), round(f1, 3), tp + fn)
    return scores


def evaluate(
    examples: Sequence[CorpusExample], predict: Callable[[str], Category]
) -> dict[str, object]:
    """Accuracy (overall and on hard cases), per-class scores and the misses of one predictor."""
    truth = [e.category for e in examples]
    predicted = [predict(e.text) for e in examples]
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    hard = [c for c, e in zip(correct, examples, strict=True) if e.hard]
    answered = [
        c for c, p in zip(correct, predicted, strict=True) if p is not Category.UNCLASSIFIED
    ]
    return {
        "accuracy": round(sum(correct) / len(examples), 3) if examples else 0.0,
        "answered": len(answered),
        "accuracy_answered": round(sum(answered) / len(answered), 3) if answered else 0.0,
        "hard_accuracy": round(sum(hard) / len(hard), 3) if hard else 0.0,
        "per_class": {str(c): vars(s) for c, s in per_class_scores(truth, predicted).items()},
        "misses": [
            {"id": e.id, "expected": str(t), "got": str(p)}
            for e, t, p, ok in zip(examples, truth, predicted, correct, strict=True)
            if not ok
        ],
    }


@contextlib.contextmanager
def frozen_rules() -> Iterator[None]:
    """The classifier as it was when the second set was first scored: without ``POST_HOC_RULES``."""
    # The current pre-filter is a superset of the frozen rules' anchors, so only the rules change.
    saved = (classifier_module.RULES, classifier_module.AFTER_MARKERS)
    rules = patterns.BASE_RULES + patterns.CATALOG_RULES
    classifier_module.RULES = rules
    classifier_module.AFTER_MARKERS = tuple(sorted({rule.after for rule in rules if rule.after}))
    try:
        yield
    finally:
        classifier_module.RULES, classifier_module.AFTER_MARKERS = saved


def report(split: str, which: str = "corpus", frozen: bool = False) -> dict[str, object]:
    """Classifier and baseline side by side on one split of one set, with the reliability table.

    ``frozen`` scores the rules as they were before the second set was first looked at (no
    ``POST_HOC_RULES``): the honest out-of-sample figure for that set.
    """
    if frozen:
        with frozen_rules():
            return {**report(split, which), "rules": "frozen"}
    examples = load_corpus(SETS[which], split=split)
    table = reliability(examples)
    return {
        "set": which,
        "rules": "current",
        "split": split,
        "examples": len(examples),
        "classifier": evaluate(examples, classifier_predict),
        "baseline": evaluate(examples, baseline_predict),
        "reliability": table,
        "calibration_at_0_8": calibration_at(table),
    }


def render_table(result: dict[str, object]) -> str:
    """A plain-text table: per class P/R/F1 for classifier and baseline."""
    clf, base = result["classifier"], result["baseline"]
    assert isinstance(clf, dict) and isinstance(base, dict)
    lines = [
        f"set={result.get('set', 'corpus')}  split={result['split']}  rules={result.get('rules', 'current')}  "
        f"examples={result['examples']}",
        f"accuracy:      classifier {clf['accuracy']:.3f}   baseline {base['accuracy']:.3f}",
        f"answered:      classifier {clf['answered']} (right {clf['accuracy_answered']:.3f} of them), "
        f"the rest unclassified",
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
    lines += ["", "reliability (classifier answers by confidence):"]
    rows = result.get("reliability", [])
    assert isinstance(rows, list)
    for row in rows:
        share = "-" if row["share_right"] is None else f"{row['share_right']:.3f}"
        lines.append(
            f"  {row['confidence']:<14}{row['answers']:>4} answers {row['right']:>4} right  {share}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m finsight_release.diagnose.evaluate``."""
    parser = argparse.ArgumentParser(
        description="accuracy of the failure classifier vs a keyword baseline"
    )
    parser.add_argument("--set", dest="which", choices=sorted(SETS), default="corpus")
    parser.add_argument("--split", choices=["holdout", "tune", "second", "all"], default=None)
    parser.add_argument(
        "--frozen", action="store_true", help="rules as before the second set was first scored"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--misses", action="store_true", help="list misclassified example ids")
    args = parser.parse_args(argv)
    split = args.split or ("holdout" if args.which == "corpus" else "all")
    result = report(split, args.which, frozen=args.frozen)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    sys.stdout.write(render_table(result) + "\n")
    if args.misses:
        for miss in result["classifier"]["misses"]:  # type: ignore[index]
            sys.stdout.write(
                f"  miss {miss['id']}: expected {miss['expected']}, got {miss['got']}\n"
            )


if __name__ == "__main__":
    main()
