#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and runs the whole test suite: lint, format, types, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" DBT_SEND_ANONYMOUS_USAGE_STATS=false SODA_CORE_TELEMETRY_ENABLED=false
ruff check --no-cache finsight_release tests benchmarks
ruff format --check --no-cache finsight_release tests benchmarks
mypy  # [tool.mypy] in pyproject.toml: the package, untyped definitions disallowed
pytest -n 2 --dist loadfile -q "$@"
