"""Benchmark: diagnose a 10 MB log (target <= 2 s), plus corpus accuracy of classifier and baseline.

    python benchmarks/diagnose.py [--json]

The log is realistic noise (Airflow task logs with retries and warnings, dbt progress lines, Spark
INFO lines, a transient connection warning) with one root cause near the end: a Snowflake
``invalid identifier`` wrapped in an Airflow task failure. JSON keys: ``diagnose_10mb_s``,
``accuracy_holdout``, ``baseline_accuracy_holdout``, ``accuracy_second_set`` (the independent set,
current rules), ``accuracy_second_set_frozen`` (rules as before that set was first scored),
``baseline_accuracy_second_set``, ``calibration_at_0_8`` (second set: answers given with confidence
>= 0.8, how many right, the share) and the category found, the log size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.diagnose.classifier import diagnose_text  # noqa: E402
from finsight_release.diagnose.evaluate import report  # noqa: E402

NOISE = (
    "[2026-11-24, 01:{m:02d}:{s:02d} UTC] {{taskinstance.py:1234}} INFO - Executing <Task(SQLExecuteQueryOperator): "
    "merge_payments_{i}> on 2026-11-24T01:00:00+00:00 run_id=scheduled__2026-11-24T01:00:00+00:00\n"
    "01:{m:02d}:{s:02d}  {i} of 40 OK created sql table model analytics.fct_payments ........ [OK in 1.{s:02d}s]\n"
    "26/11/24 01:{m:02d}:{s:02d} INFO TaskSetManager: Finished task {i}.0 in stage 3.0 (TID {i}) in 812 ms on "
    "10.0.1.{s} (executor 2) ({i}/200)\n"
    "[2026-11-24, 01:{m:02d}:{s:02d} UTC] {{base.py:84}} INFO - Using connection ID 'snowflake_default' for task "
    "execution.\n"
)
# Every ~500 blocks a warning that looks like trouble but is not the cause (a retried request).
WARNING = (
    "[2026-11-24, 01:{m:02d}:{s:02d} UTC] {{connectionpool.py:870}} WARNING - Retrying (Retry(total=2)) after "
    "connection broken by 'ReadTimeoutError': /session/v1/login-request\n"
)
ROOT_CAUSE = (
    "[2026-11-24, 01:59:58 UTC] {taskinstance.py:2905} ERROR - Task failed with exception\n"
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.11/site-packages/snowflake/connector/cursor.py", line 1087, in execute\n'
    "snowflake.connector.errors.ProgrammingError: 000904 (42000): SQL compilation error: error line 3 at position 11\n"
    "invalid identifier 'AMOUNT_USD'\n"
    "[2026-11-24, 01:59:58 UTC] {taskinstance.py:1206} INFO - Marking task as FAILED.\n"
)


def make_log(megabytes: int = 10) -> str:
    """Noise up to ``megabytes`` MB, then the root cause."""
    parts, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        chunk = NOISE.format(m=i % 60, s=i % 60, i=i)
        if i % 500 == 499:
            chunk += WARNING.format(m=i % 60, s=i % 60)
        parts.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(parts) + ROOT_CAUSE


def main() -> None:
    """Time the 10 MB diagnosis and print it with the holdout accuracies."""
    parser = argparse.ArgumentParser(description="diagnosis benchmark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    log = make_log()
    start = time.perf_counter()
    diagnosis = diagnose_text(log)
    seconds = time.perf_counter() - start
    holdout = report("holdout")
    second = report("all", "second")
    frozen = report("all", "second", frozen=True)
    calibration = second["calibration_at_0_8"]
    assert isinstance(calibration, dict)
    result = {
        "diagnose_10mb_s": round(seconds, 3),
        "category": str(diagnosis.category),
        "log_bytes": len(log),
        "accuracy_holdout": holdout["classifier"]["accuracy"],  # type: ignore[index]
        "baseline_accuracy_holdout": holdout["baseline"]["accuracy"],  # type: ignore[index]
        "accuracy_second_set": second["classifier"]["accuracy"],  # type: ignore[index]
        "accuracy_second_set_frozen": frozen["classifier"]["accuracy"],  # type: ignore[index]
        "baseline_accuracy_second_set": second["baseline"]["accuracy"],  # type: ignore[index]
        "calibration_at_0_8": {
            "answers": calibration["answers"],
            "right": calibration["right"],
            "share_right": calibration["share_right"],
        },
    }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    sys.stdout.write(f"{'measure':<28}{'value':>10}{'target':>10}\n")
    sys.stdout.write(f"{'diagnose 10 MB log (s)':<28}{seconds:>10.3f}{'<= 2.0':>10}\n")
    sys.stdout.write(f"{'  category found':<28}{diagnosis.category.value:>10}\n")
    sys.stdout.write(f"{'holdout accuracy':<28}{result['accuracy_holdout']:>10.3f}\n")
    sys.stdout.write(
        f"{'baseline holdout accuracy':<28}{result['baseline_accuracy_holdout']:>10.3f}\n"
    )
    sys.stdout.write(f"{'second set accuracy':<28}{result['accuracy_second_set']:>10.3f}\n")
    sys.stdout.write(f"{'  (frozen rules)':<28}{result['accuracy_second_set_frozen']:>10.3f}\n")
    sys.stdout.write(
        f"{'baseline second set':<28}{result['baseline_accuracy_second_set']:>10.3f}\n"
    )
    share, counts = calibration["share_right"], f"({calibration['right']}/{calibration['answers']})"
    sys.stdout.write(f"{'right at confidence >= 0.8':<28}{share:>10.3f}  {counts}\n")


if __name__ == "__main__":
    main()
