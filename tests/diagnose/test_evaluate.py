"""The labelled corpus is well-formed and the classifier beats the keyword baseline on the holdout split."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from finsight_release.diagnose.categories import ROOT_CAUSES, Category
from finsight_release.diagnose.evaluate import (
    SECOND_SET_PATH,
    baseline_predict,
    load_corpus,
    main,
    per_class_scores,
    report,
)

# Measured 0.98 on the holdout split (51 examples) when the rules were frozen; the floor leaves room
# for one or two regressions but fails on a real drop.
HOLDOUT_ACCURACY_FLOOR = 0.9
MIN_MARGIN_OVER_BASELINE = 0.3
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "README.md"


def test_corpus_is_large_labelled_sourced_and_stratified() -> None:
    examples = load_corpus()
    assert len(examples) >= 150
    assert len({e.id for e in examples}) == len(examples)
    per_class = Counter(e.category for e in examples)
    assert set(per_class) == set(ROOT_CAUSES) and min(per_class.values()) >= 10
    assert sum(e.hard for e in examples) >= 20
    assert all(e.source.startswith("https://") and e.text.strip() for e in examples)
    for category in ROOT_CAUSES:
        members = [e for e in examples if e.category == category]
        holdout = sum(e.split == "holdout" for e in members)
        assert 0.2 <= holdout / len(members) <= 0.45, category
    assert {e.split for e in examples} == {"tune", "holdout"}


def test_classifier_beats_the_baseline_on_the_holdout_split() -> None:
    result = report("holdout")
    classifier, baseline = result["classifier"], result["baseline"]
    assert classifier["accuracy"] >= HOLDOUT_ACCURACY_FLOOR, classifier["misses"]
    assert classifier["accuracy"] >= baseline["accuracy"] + MIN_MARGIN_OVER_BASELINE


def test_classifier_handles_the_hard_cases_better_than_the_baseline() -> None:
    result = report("all")
    assert result["classifier"]["hard_accuracy"] >= 0.85
    assert result["classifier"]["hard_accuracy"] > result["baseline"]["hard_accuracy"] + 0.3


def test_baseline_is_a_first_keyword_match() -> None:
    assert baseline_predict("terraform apply: No module named x") == Category.DEPENDENCY_CONFLICT
    assert baseline_predict("nothing matches") == Category.CI_PIPELINE


def test_per_class_scores_count_precision_and_recall() -> None:
    truth = [Category.DAG_PARSE, Category.DAG_PARSE, Category.IAC_CHANGE]
    predicted = [Category.DAG_PARSE, Category.IAC_CHANGE, Category.IAC_CHANGE]
    scores = per_class_scores(truth, predicted)
    assert (scores[Category.DAG_PARSE].precision, scores[Category.DAG_PARSE].recall) == (1.0, 0.5)
    assert (scores[Category.IAC_CHANGE].precision, scores[Category.IAC_CHANGE].recall) == (0.5, 1.0)


@pytest.mark.parametrize("split", ["tune", "holdout", "all"])
def test_evaluate_command_prints_json(split: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--split", split, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == split and result["examples"] > 0
    assert set(result["classifier"]["per_class"]) == {c.value for c in ROOT_CAUSES}


def test_evaluate_command_prints_a_side_by_side_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--split", "holdout"])
    out = capsys.readouterr().out
    assert "baseline" in out and all(c.value in out for c in ROOT_CAUSES)


def test_runbook_has_one_section_per_class_with_matching_anchor() -> None:
    headings = re.findall(r"^## (\S+)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(c.value for c in Category)
    for section in RUNBOOK.read_text().split("\n## ")[1:]:
        for part in ("Symptoms", "Confirm", "Fix", "Roll back"):
            assert part in section, (section.splitlines()[0], part)


def _repository(url: str) -> str:
    match = re.match(r"https://github\.com/([^/]+/[^/]+)", url)
    return match.group(1).lower() if match else url


def test_second_set_is_independent_of_the_corpus_and_sourced() -> None:
    second = load_corpus(SECOND_SET_PATH)
    assert len(second) >= 150 and {e.split for e in second} == {"second"}
    assert len({e.id for e in second}) == len(second) == len({e.source for e in second})
    assert all(e.source.startswith("https://") and e.text.strip() for e in second)
    used = {_repository(e.source) for e in load_corpus()}
    assert not used & {_repository(e.source) for e in second}
    assert set(Counter(e.category for e in second)) == set(ROOT_CAUSES)


def test_frozen_rules_generalise_to_the_second_set_and_answers_are_calibrated() -> None:
    # Measured when the second set was first scored: 0.796 (frozen) vs baseline 0.428; of the answers
    # given at confidence >= 0.8, 0.952 were right. Floors leave room for small drift, not for a drop.
    frozen = report("all", "second", frozen=True)
    assert frozen["classifier"]["accuracy"] >= 0.75
    assert frozen["classifier"]["accuracy"] >= frozen["baseline"]["accuracy"] + 0.3
    assert frozen["calibration_at_0_8"]["share_right"] >= 0.9
    assert frozen["classifier"]["accuracy_answered"] >= 0.9


def test_unclassified_is_a_miss_for_recall_but_no_false_positive() -> None:
    truth = [Category.INFRA_DRIFT, Category.INFRA_DRIFT]
    scores = per_class_scores(truth, [Category.INFRA_DRIFT, Category.UNCLASSIFIED])
    assert (scores[Category.INFRA_DRIFT].precision, scores[Category.INFRA_DRIFT].recall) == (
        1.0,
        0.5,
    )
    assert Category.UNCLASSIFIED not in scores


def test_evaluate_command_scores_the_second_set_with_a_reliability_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--set", "second", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["set"] == "second" and result["examples"] >= 150
    assert [row["confidence"] for row in result["reliability"]][-1] == "unclassified"
    assert set(result["calibration_at_0_8"]) == {"confidence", "answers", "right", "share_right"}
