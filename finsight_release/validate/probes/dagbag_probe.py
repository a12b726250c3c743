"""Runs INSIDE the Airflow 2.10.5 virtualenv (imports only airflow and the stdlib).

    python dagbag_probe.py DAGS_FOLDER REPORT_JSON FILE [FILE ...]

Parses the given DAG files in one real DagBag, file by file, exactly as the scheduler's DAG processor
does (``DagBag.process_file``: the per-file import timeout, DAG validation, cycle and duplicate-id
checks), and writes a JSON report: import errors, per-file parse seconds and DAG ids, and per DAG its
file, schedule, owner, retries, catchup, the connection ids its tasks use and the Airflow Variables
their templates read. Several probes run side by side on disjoint shards of the bundle; the caller
merges them (and finds duplicate DAG ids across shards). The report goes to a file because Airflow
logs to stdout.
"""

import json
import re
import sys
import time

VARIABLE = re.compile(r"\bvar\.(?:value|json)\.([A-Za-z_][A-Za-z0-9_]*)")


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


def strings(value):
    """Every string inside a template field's value (lists, tuples, dicts nested)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def variables(task):
    """Variables the task's templates read as ``{{ var.value.x }}`` / ``{{ var.json.x }}``."""
    found = set()
    for field in getattr(task, "template_fields", ()):
        try:
            value = getattr(task, field)
        except Exception:  # noqa: BLE001
            continue
        for text in strings(value):
            found.update(VARIABLE.findall(text))
    return found


def describe(dag):
    args = dag.default_args or {}
    tasks = dag.tasks
    return {
        "file": dag.fileloc,
        "schedule": str(dag.timetable.summary),
        "owner": args.get("owner") or dag.owner,
        "retries": args.get("retries"),
        "catchup": dag.catchup,
        "tasks": len(tasks),
        "conn_ids": sorted(set().union(*[conn_ids(t) for t in tasks])) if tasks else [],
        "variables": sorted(set().union(*[variables(t) for t in tasks])) if tasks else [],
    }


def main(folder, report_path, files):
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=folder, include_examples=False, safe_mode=True, collect_dags=False)
    stats, dags = [], {}
    for path in files:
        start = time.perf_counter()
        try:
            found = bag.process_file(path, only_if_updated=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - process_file catches import errors; anything else is one too
            bag.import_errors[path] = f"{type(exc).__name__}: {exc}"
            found = []
        seconds = time.perf_counter() - start
        stats.append({"file": path, "seconds": seconds, "dag_ids": sorted(d.dag_id for d in found)})
        for dag in found:
            dags[dag.dag_id] = describe(dag)
    with open(report_path, "w") as fh:
        json.dump({"import_errors": bag.import_errors, "stats": stats, "dags": dags}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
