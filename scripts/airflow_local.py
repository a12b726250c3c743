"""Start the same Airflow the tests use, by hand, on an environment's published dags folder.

    .venv/bin/python scripts/airflow_local.py [--env dev] [--port 8080]

Airflow 2.10.5 from ``.venvs/airflow`` (``FINSIGHT_AIRFLOW_PYTHON``): webserver with the stable REST API
(basic auth, user admin/admin) and scheduler, SQLite + SequentialExecutor, the DAG processor settings
of ``finsight_release/targets/local_airflow.py``, state under ``$FINSIGHT_HOME/airflow-local/<env>``.
It prints the two variables that make ``finsight-release promote`` verify deploys through it, and runs
until Ctrl-C, which stops both processes and everything they started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finsight_release.envs.environment import Environment  # noqa: E402
from finsight_release.system import ReleaseSystem  # noqa: E402
from finsight_release.targets.local_airflow import PARSE_SETTINGS, LocalAirflow  # noqa: E402


def say(line: str) -> None:
    """One line to the terminal."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    """Start Airflow, print how to point deploys at it, wait for Ctrl-C, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev", help="environment whose dags folder Airflow reads")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    env = Environment.parse(args.env)
    system = ReleaseSystem()
    dags = system.airflow_dags_folder(env)
    airflow = LocalAirflow(
        system.settings.airflow_python,
        system.settings.home / "airflow-local" / str(env),
        dags,
        args.port,
    )
    say(f"starting Airflow 2.10.5 on http://127.0.0.1:{args.port} reading {dags}")
    say(
        "DAG processor: "
        + ", ".join(f"{k.split('__')[-1].lower()}={v}" for k, v in PARSE_SETTINGS.items())
    )
    airflow.start()
    upper = str(env).upper()
    say(f"export FINSIGHT_AIRFLOW_API_{upper}=http://127.0.0.1:{args.port}")
    say(f"export FINSIGHT_AIRFLOW_API_AUTH_{upper}={airflow.username}:{airflow.password}")
    say("Ctrl-C stops it")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(p.poll() is None for p in airflow.processes.values()):
            time.sleep(1)
        sys.stderr.write("an Airflow process exited; stopping\n")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        airflow.stop()


if __name__ == "__main__":
    sys.exit(main())
