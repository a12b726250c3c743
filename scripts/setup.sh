#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine, idempotently:
#   .venv/           the Dagster side (this package, dagster, dbt, soda, moto, ...)
#   .venvs/airflow/  a real Airflow 2.10.5 in its own virtualenv (its SQLAlchemy 1.4 cannot share .venv),
#                    installed against the constraint file committed in release_assets/airflow/
#   .venvs/spark/    PySpark 3.5.9, the runtime Spark jobs are smoke-run on (plus its JVM class-data archive)
#   PostgreSQL, Java and Chromium from Debian's packages when missing (audit-log tests, Spark smoke
#                    runs, the HTML report checked in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${FINSIGHT_PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in /root/.pyenv/versions/3.11.*/bin/python3.11 "$(command -v python3.11 || true)" /usr/bin/python3.11; do
    if [ -x "$candidate" ]; then PY="$candidate"; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: no python3.11 found; set FINSIGHT_PYTHON" >&2; exit 1; }

# uv from the chosen interpreter (pyenv installs its scripts outside PATH until a rehash).
"$PY" -m uv --version >/dev/null 2>&1 || "$PY" -m pip install -q uv
uv() { "$PY" -m uv "$@"; }
export DBT_SEND_ANONYMOUS_USAGE_STATS=false SODA_CORE_TELEMETRY_ENABLED=false

need_apt=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
# Headless Chromium checks the HTML release report (tests/observe/test_report.py).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then uv venv -q -p "$PY" .venv; fi
echo "setup: installing the Dagster environment (.venv)"
uv pip install -q -p .venv/bin/python -e ".[dev]"

if [ ! -x .venvs/airflow/bin/airflow ]; then
  echo "setup: installing Airflow 2.10.5 (.venvs/airflow) against release_assets/airflow/constraints-2.10.5.txt"
  uv venv -q -p "$PY" .venvs/airflow
  uv pip install -q -p .venvs/airflow/bin/python -c release_assets/airflow/constraints-2.10.5.txt \
    "apache-airflow==2.10.5" apache-airflow-providers-amazon apache-airflow-providers-snowflake \
    apache-airflow-providers-postgres "dagster-airlift[in-airflow]"
fi

if [ ! -x .venvs/spark/bin/spark-submit ]; then
  echo "setup: installing PySpark 3.5.9 (.venvs/spark), the runtime the Spark jobs are smoke-run on"
  uv venv -q --clear -p "$PY" .venvs/spark
  uv pip install -q -p .venvs/spark/bin/python "pyspark==3.5.9"
  rm -f .venvs/spark/spark-classes.jsa
fi
# The JVM's class-data archive for that runtime: smoke runs map Spark's classes instead of loading them.
if [ ! -f .venvs/spark/spark-classes.jsa ] && command -v java >/dev/null 2>&1; then
  echo "setup: archiving Spark's JVM classes (.venvs/spark/spark-classes.jsa)"
  SPARK_LOCAL_IP=127.0.0.1 .venvs/spark/bin/python -I finsight_release/validate/spark/probes/class_archive.py \
    .venvs/spark/spark-classes.jsa >/dev/null 2>&1 || echo "setup: no class archive written (smoke runs start slower)"
fi
# Bytecode for every virtualenv and this package: with PYTHONDONTWRITEBYTECODE set (as on this
# project's CI machines) nothing is ever cached, and each process (a Dagster run, an Airflow parse)
# would recompile its imports from source: 26 s instead of 12 s for the code location alone.
echo "setup: compiling bytecode (.venv, .venvs, finsight_release)"
for venv in .venv .venvs/airflow .venvs/spark; do
  "$venv/bin/python" -m compileall -q -j 0 "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
done
.venv/bin/python -m compileall -q -j 0 finsight_release tests benchmarks >/dev/null 2>&1 || true
echo "setup: done"
