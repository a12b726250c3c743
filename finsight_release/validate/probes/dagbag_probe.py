"""Runs INSIDE the Airflow 2.10.5 virtualenv (imports only airflow and the stdlib).

    python dagbag_probe.py DAGS_FOLDER REPORT_JSON [FILE ...]

Loads the DAG folder (or only the given files) in a real DagBag, exactly as the scheduler's DAG
processor would, and writes a JSON report: import errors, per-file parse seconds, and per DAG its
file, schedule, owner, retries, catchup and the connection ids its tasks use. The report goes to a
file because Airflow logs to stdout.
"""

import json
import sys


def conn_ids(task):
    found = set()
    for name in dir(task):
        if name.endswith("conn_id") and not name.startswith("_"):
            try:
                value = getattr(task, name)
            except Exception:  # noqa: BLE001 - a property may need a context
                continue
            if isinstance(value, str) and value and "{{" not in value:
                found.add(value)
    return found


def main(folder, report_path, files):
    from airflow.models.dagbag import DagBag

    errors, stats, dags = {}, [], {}
    targets = files or [folder]
    for target in targets:
        bag = DagBag(dag_folder=target, include_examples=False, safe_mode=True)
        errors.update(bag.import_errors)
        stats += [{"file": s.file, "seconds": s.duration.total_seconds(), "dags": s.dag_num} for s in bag.dagbag_stats]
        for dag_id, dag in bag.dags.items():
            args = dag.default_args or {}
            dags[dag_id] = {
                "file": dag.fileloc,
                "schedule": str(dag.timetable.summary),
                "owner": args.get("owner") or dag.owner,
                "retries": args.get("retries"),
                "catchup": dag.catchup,
                "tasks": len(dag.tasks),
                "conn_ids": sorted(set().union(*[conn_ids(t) for t in dag.tasks])) if dag.tasks else [],
            }
    with open(report_path, "w") as fh:
        json.dump({"import_errors": errors, "stats": stats, "dags": dags}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
