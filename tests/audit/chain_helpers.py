"""Filling an audit log and tampering with it the way someone with database rights could."""

from __future__ import annotations

from finsight_release.audit.log import AuditLog


def fill(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        log.append(
            actor="alice",
            action="promote",
            outcome="ok",
            release_id=f"r-{i}",
            environment="prod",
            digests={"airflow/dags": f"{i:064d}"},
            details={"i": i, "note": "déploiement"},
        )


def tamper(log: AuditLog, *statements: str) -> None:
    """Run raw SQL past the append-only triggers (what an attacker with DBA rights could do)."""
    with log.engine.begin() as conn:
        if log.is_sqlite:
            conn.exec_driver_sql("drop trigger audit_events_no_update")
            conn.exec_driver_sql("drop trigger audit_events_no_delete")
        else:
            conn.exec_driver_sql("alter table audit_events disable trigger audit_events_no_change")
        for sql in statements:
            conn.exec_driver_sql(sql)
