"""Load the DAG folder in a real Airflow DagBag and print a JSON report (run with the Airflow venv's python).

Set AIRFLOW_HOME (a temp dir), AIRFLOW__CORE__DAGS_FOLDER / PLUGINS_FOLDER and a sqlite connection first;
the test ``tests/reference/test_airflow_platform.py`` does. Besides parsing, the report renders the
Jinja of one extract/merge/copy task with a fake context, proving the templates and the plugin macro
render to plain SQL.

Usage:
    python tools/dagbag_report.py DAGS_FOLDER REPORT_JSON

The report goes to a file, not stdout: Airflow's console log handler writes to stdout.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _fake_context() -> dict[str, Any]:
    import pendulum
    from airflow import macros

    start = pendulum.datetime(2024, 3, 1, 10, tz="UTC")
    variables = {
        "finsight_landing_bucket": "finsight-landing-test",
        "finsight_landing_stage": "RAW_TEST.PUBLIC.LANDING_STAGE",
        "finsight_source_files_stage": "RAW_TEST.PUBLIC.SOURCE_FILES_STAGE",
        "finsight_raw_database": "RAW_TEST",
        "finsight_analytics_database": "ANALYTICS_TEST",
    }
    return {
        "data_interval_start": start,
        "data_interval_end": start.add(hours=1),
        "ds": start.to_date_string(),
        "ds_nodash": start.format("YYYYMMDD"),
        "run_id": "scheduled__2024-03-01T10:00:00+00:00",
        "var": {"value": variables},
        "macros": macros,
        "params": {},
    }


def _render(dag: Any, task_id: str, field: str) -> Any:
    task = dag.get_task(task_id)
    return task.render_template(getattr(task, field), _fake_context())


def main(dags_folder: str, report_path: str) -> None:
    """Print ``{dag_count, import_errors, dags: {id: {tags, sla, ...}}, load_seconds, rendered}`` as JSON."""
    from airflow import plugins_manager
    from airflow.models.dagbag import DagBag

    plugins_manager.integrate_macros_plugins()
    started = time.monotonic()
    bag = DagBag(dag_folder=dags_folder, include_examples=False, safe_mode=True)
    load_seconds = time.monotonic() - started
    dags = {
        dag_id: {
            "tags": sorted(dag.tags or []),
            "owner": dag.default_args.get("owner"),
            "retries": dag.default_args.get("retries"),
            "sla_seconds": dag.default_args["sla"].total_seconds() if dag.default_args.get("sla") else None,
            "task_slas": sum(1 for task in dag.tasks if task.sla),
            "catchup": dag.catchup,
            "schedule": str(dag.timetable.summary),
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "task_count": len(dag.tasks),
            "fileloc": dag.fileloc,
        }
        for dag_id, dag in bag.dags.items()
    }
    rendered: dict[str, Any] = {}
    for dag_id, task_id, field in (
        ("ingest_core_banking__transactions", "extract_transactions", "query"),
        ("ingest_core_banking__transactions", "extract_transactions", "s3_key"),
        ("ingest_core_banking__transactions", "merge_transactions", "sql"),
        ("ingest_s3_market__fx_rates", "copy_fx_rates", "sql"),
    ):
        if dag_id in bag.dags:
            rendered[f"{dag_id}.{task_id}.{field}"] = _render(bag.dags[dag_id], task_id, field)
    report = {
        "dag_count": len(bag.dags),
        "import_errors": bag.import_errors,
        "load_seconds": round(load_seconds, 2),
        "plugins": sorted(plugin.name for plugin in plugins_manager.plugins or []),
        "dags": dags,
        "rendered": rendered,
    }
    with open(report_path, "w", encoding="utf-8") as out:
        json.dump(report, out, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
