"""Benchmark: diagnose a 10 MB log (target <= 2 s).

    python benchmarks/diagnose.py [--json]

The log is realistic noise (Airflow task logs, dbt progress lines, Spark INFO lines) with one root
cause near the end: a Snowflake `invalid identifier` wrapped in an Airflow task failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.diagnose.classifier import diagnose_text  # noqa: E402

NOISE = (
    "[2026-11-24, 01:{m:02d}:{s:02d} UTC] {{taskinstance.py:1234}} INFO - Executing <Task(SQLExecuteQueryOperator): "
    "merge_payments> on 2026-11-24T01:00:00+00:00 run_id=scheduled__2026-11-24T01:00:00+00:00\n"
    "01:{m:02d}:{s:02d}  {i} of 40 OK created sql table model analytics.fct_payments ........ [OK in 1.{s:02d}s]\n"
    "26/11/24 01:{m:02d}:{s:02d} INFO TaskSetManager: Finished task {i}.0 in stage 3.0 (TID {i}) in 812 ms on "
    "10.0.1.{s} (executor 2) ({i}/200)\n"
)
ROOT_CAUSE = (
    "[2026-11-24, 01:59:58 UTC] {taskinstance.py:2905} ERROR - Task failed with exception\n"
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.11/site-packages/snowflake/connector/cursor.py", line 1087, in execute\n'
    "snowflake.connector.errors.ProgrammingError: 000904 (42000): SQL compilation error: error line 3 at position 11\n"
    "invalid identifier 'AMOUNT_USD'\n"
)


def make_log(megabytes: int = 10) -> str:
    parts, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        chunk = NOISE.format(m=i % 60, s=i % 60, i=i)
        parts.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(parts) + ROOT_CAUSE


def main() -> None:
    parser = argparse.ArgumentParser(description="diagnosis benchmark")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    log = make_log()
    start = time.perf_counter()
    diagnosis = diagnose_text(log)
    seconds = time.perf_counter() - start
    result = {"diagnose_10mb_s": round(seconds, 3), "category": str(diagnosis.category), "log_bytes": len(log)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'log MB':>8}{'seconds':>10}{'target':>8}  category")
        print(f"{len(log) / 1e6:>8.1f}{seconds:>10.3f}{2.0:>8.1f}  {diagnosis.category}")


if __name__ == "__main__":
    main()
