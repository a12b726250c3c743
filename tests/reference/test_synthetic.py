"""The synthetic warehouse is deterministic, sized by its scale, and referentially consistent."""

from __future__ import annotations

from pathlib import Path

import duckdb

from finsight_release.reference.synthetic import generate_warehouse, table_fingerprints


def test_same_seed_same_data_and_scale_grows(tmp_path: Path) -> None:
    a, b, c, big = (tmp_path / f"{n}.duckdb" for n in ("a", "b", "c", "big"))
    counts = generate_warehouse(a, scale=1, seed=7)
    generate_warehouse(b, scale=1, seed=7)
    generate_warehouse(c, scale=1, seed=8)
    assert table_fingerprints(a) == table_fingerprints(b)
    assert table_fingerprints(a) != table_fingerprints(c)
    assert len(counts) == 12 and all(n > 0 for n in counts.values())
    bigger = generate_warehouse(big, scale=3, seed=7)
    assert bigger["core_banking__transactions"] >= 2 * counts["core_banking__transactions"]


def test_referential_integrity_and_rerun_replaces(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    first = generate_warehouse(db)
    assert generate_warehouse(db) == first  # a re-run replaces, never appends
    with duckdb.connect(str(db), read_only=True) as con:
        orphans = con.execute(
            "select count(*) from raw.core_banking__transactions t "
            "left join raw.core_banking__accounts a using (account_id) where a.account_id is null"
        ).fetchone()
        refunds = con.execute(
            "select count(*) from raw.payments__refunds r "
            "left join raw.payments__payments p using (payment_id) where p.payment_id is null"
        ).fetchone()
    assert orphans == (0,) and refunds == (0,)
