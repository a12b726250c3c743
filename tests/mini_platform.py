"""A small platform tree with every artifact kind, for fast core tests."""

from __future__ import annotations

from pathlib import Path

FILES = {
    "release_assets/airflow/dags/ingest_core.py": "# dag one\nDAG_ID = 'ingest_core'\n",
    "release_assets/airflow/dags/export_partners.py": "# dag two\nDAG_ID = 'export_partners'\n",
    "release_assets/airflow/requirements.txt": "apache-airflow-providers-snowflake==6.6.1\n",
    "release_assets/airflow/plugins/finsight_macros.py": "MACROS = {}\n",
    "dbt_project/dbt_project.yml": "name: finsight\nversion: '1.0'\n",
    "dbt_project/models/stg_accounts.sql": "select 1 as account_id\n",
    "release_assets/spark/ledger_compaction/job.yaml": "name: ledger_compaction\n",
    "release_assets/streaming/payments.events/schema.avsc": '{"type": "record", "name": "P", "fields": []}\n',
    "release_assets/streaming/payments.events/topic.yaml": "compatibility: BACKWARD\n",
    "release_assets/terraform/data_lake/main.tf": 'resource "aws_s3_bucket" "raw" {}\n',
    "release_assets/config/dev.yaml": "environment: dev\n",
    "release_assets/config/prod.yaml": "environment: prod\n",
    "release_assets/images/airflow/Dockerfile": "FROM python@sha256:" + "a" * 64 + "\n",
    "release_assets/images/airflow/image.yaml": (
        "repository: 111122223333.dkr.ecr.us-east-1.amazonaws.com/finsight/airflow\ndigest: sha256:"
        + "b" * 64
        + "\n"
    ),
}


def make_platform(
    root: Path, overrides: dict[str, str] | None = None, without: str | None = None
) -> Path:
    """Write the mini platform under ``root`` (``overrides`` replace or add files; ``without`` drops a prefix)."""
    for rel, text in {**FILES, **(overrides or {})}.items():
        if without and rel.startswith(without):
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
