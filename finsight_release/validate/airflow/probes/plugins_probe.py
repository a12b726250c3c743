"""Runs INSIDE the Airflow 2.10.5 virtualenv (imports only airflow and the stdlib).

    python plugins_probe.py REPORT_JSON

Loads the plugins folder (``AIRFLOW__CORE__PLUGINS_FOLDER``) with Airflow's own plugin manager, as the
scheduler, webserver and workers do at start-up (MWAA: plugins.zip), integrates their macros, and
writes a JSON report: import errors by file (with the line, found by running the failing file once
more: the plugin manager keeps only the message), and the plugins found with their macro names.
"""

from __future__ import annotations

import json
import runpy
import sys
import traceback


def error_line(path: str) -> int | None:
    """The innermost line of ``path`` in the traceback of running it, or None."""
    try:
        runpy.run_path(path, run_name="finsight_plugin_probe")
    except SyntaxError as exc:
        return exc.lineno if exc.filename == path else None
    except BaseException as exc:  # noqa: BLE001 - whatever the plugin raises
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        return frames[-1].lineno if frames else None
    return None


def main(report_path: str) -> None:
    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    plugins_manager.integrate_macros_plugins()
    plugins = [
        {
            "name": p.name,
            "file": getattr(p, "source", None) and str(p.source),
            "macros": [m.__name__ for m in p.macros],
        }
        for p in plugins_manager.plugins or []
    ]
    errors = {
        path: {"message": str(message), "line": error_line(path)}
        for path, message in plugins_manager.import_errors.items()
    }
    with open(report_path, "w") as fh:
        json.dump({"import_errors": errors, "plugins": plugins}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
