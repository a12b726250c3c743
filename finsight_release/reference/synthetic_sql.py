"""DuckDB SQL that fills each raw table: set-based, seeded, hash-based pseudo-randomness.

Every random draw is ``hash(row key, salt, seed)``, so a row's values depend only on the seed, its key
and the salt, never on evaluation order: the same seed and scale give byte-identical tables, at any
thread count. The statements run in dependency order (accounts read customers, transactions read
accounts, ...) inside one transaction opened by :mod:`finsight_release.reference.synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from finsight_release.reference.raw_schema import RAW_SCHEMA

WINDOW_DAYS = 180
FX_CURRENCIES: tuple[tuple[str, float, float], ...] = (
    # currency, base USD rate, phase of its slow drift
    ("USD", 1.0, 0.0),
    ("EUR", 1.08, 1.3),
    ("GBP", 1.27, 2.1),
    ("CHF", 1.12, 0.4),
    ("CAD", 0.74, 2.9),
)


@dataclass(frozen=True)
class GenerationPlan:
    """Row counts and the time window of one generation, derived from scale, seed and as_of."""

    seed: int
    customers: int
    accounts: int
    merchants: int
    transactions: int
    payments: int
    alerts: int
    card_authorizations: int
    window_start: datetime
    window_end: datetime

    @classmethod
    def for_scale(cls, scale: int, seed: int, as_of: datetime) -> GenerationPlan:
        """Counts grow linearly with ``scale``; activity covers the ``WINDOW_DAYS`` before ``as_of``."""
        window_end = as_of.replace(microsecond=0) - timedelta(hours=1)
        return cls(
            seed=seed,
            customers=150 * scale,
            accounts=250 * scale,
            merchants=40 * scale,
            transactions=2000 * scale,
            payments=600 * scale,
            alerts=50 * scale,
            card_authorizations=1000 * scale,
            window_start=window_end - timedelta(days=WINDOW_DAYS),
            window_end=window_end,
        )


def macros_sql(seed: int) -> list[str]:
    """Temporary macros for seeded draws: uniform [0,1), integer in [lo,hi], pick from a list."""
    return [
        f"CREATE OR REPLACE TEMP MACRO syn_u(k, salt) AS "
        f"(hash(k, salt, {int(seed)}) % 1000000007)::DOUBLE / 1000000007.0",
        f"CREATE OR REPLACE TEMP MACRO syn_int(k, salt, lo, hi) AS "
        f"(lo + hash(k, salt, {int(seed)}) % ((hi) - (lo) + 1))::BIGINT",
        f"CREATE OR REPLACE TEMP MACRO syn_pick(k, salt, options) AS "
        f"options[1 + (hash(k, salt, {int(seed)}) % len(options))::INTEGER]",
        # A timestamp in [lo, hi), at whole seconds.
        "CREATE OR REPLACE TEMP MACRO syn_ts(k, salt, lo, hi) AS "
        "lo + to_seconds(syn_int(k, salt, 0, date_diff('second', lo, hi) - 1))",
        # What the PostgreSQL load stamps: load time a little after the change, batch per hour.
        "CREATE OR REPLACE TEMP MACRO syn_loaded_at(k, salt, changed_at, cap) AS "
        "least(changed_at + to_minutes(syn_int(k, salt, 5, 55)), cap)",
        "CREATE OR REPLACE TEMP MACRO syn_batch(tbl, loaded_at) AS tbl || '_' || strftime(loaded_at, '%Y%m%dT%H')",
    ]


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _technical(table: str, key: str, changed_at: str, plan: GenerationPlan) -> str:
    """Select-list tail with the load's ``_loaded_at`` and ``_batch_id`` for one row."""
    loaded = f"syn_loaded_at({key}, '{table}_load', {changed_at}, {_ts(plan.window_end)} + INTERVAL 55 MINUTE)"
    return f"{loaded} AS _loaded_at, syn_batch('{table}', {loaded}) AS _batch_id"


def fill_statements(plan: GenerationPlan) -> dict[str, str]:
    """``INSERT ... SELECT`` per raw table, in an order where every table reads only earlier ones."""
    s, start, end, r = plan, _ts(plan.window_start), _ts(plan.window_end), RAW_SCHEMA
    fx_values = ", ".join(
        f"('{c}', {base}, {phase}, {k})" for k, (c, base, phase) in enumerate(FX_CURRENCIES)
    )
    return {
        "core_banking__customers": f"""
INSERT INTO {r}.core_banking__customers BY NAME
WITH base AS (
  SELECT i,
    syn_pick(i, 'first', ['Ana','Ben','Chloe','David','Elena','Farid','Grace','Hiro','Ines','Jonas',
                          'Kara','Liam','Mia','Noah','Olga','Priya','Quinn','Rosa','Sven','Tariq']) AS first_name,
    syn_pick(i, 'last', ['Smith','Muller','Rossi','Dubois','Jansen','Novak','Garcia','Tanaka','Silva',
                         'Kowalski','Berg','Okafor','Nguyen','Schmidt','Moreau']) AS last_name,
    {start} - to_days(syn_int(i, 'cust_age', 30, 1500)::INTEGER)
            - to_seconds(syn_int(i, 'cust_sec', 0, 86399)) AS created_at
  FROM range(1, {s.customers} + 1) AS t(i)
), rows AS (
  SELECT i AS customer_id, first_name || ' ' || last_name AS full_name,
    lower(first_name || '.' || last_name || '.' || i || '@'
          || syn_pick(i, 'cust_domain', ['example.com', 'mail.example.org', 'inbox.example.net'])) AS email,
    syn_pick(i, 'cust_country', ['US','US','US','GB','GB','DE','FR','NL','CH','CA']) AS country,
    syn_pick(i, 'cust_segment', ['retail','retail','retail','retail','retail','retail',
                                  'premium','premium','business','private']) AS segment,
    syn_pick(i, 'cust_kyc', ['verified','verified','verified','verified','verified','verified',
                              'verified','verified','pending','rejected']) AS kyc_status,
    created_at,
    -- profiles keep changing (address, KYC refresh), so updates spread over the activity window
    syn_ts(i, 'cust_upd', {start}, {end}) AS updated_at
  FROM base
)
SELECT *, {_technical("core_banking__customers", "customer_id", "updated_at", s)} FROM rows""",
        "core_banking__accounts": f"""
INSERT INTO {r}.core_banking__accounts BY NAME
WITH rows AS (
  SELECT a.i AS account_id, c.customer_id,
    CASE WHEN c.segment = 'business' THEN 'business'
         ELSE syn_pick(a.i, 'acct_type', ['checking','checking','checking','savings','savings','credit_card'])
    END AS account_type,
    CASE WHEN syn_u(a.i, 'acct_usd') < 0.1 THEN 'USD'
         ELSE CASE c.country WHEN 'US' THEN 'USD' WHEN 'GB' THEN 'GBP' WHEN 'CH' THEN 'CHF'
                             WHEN 'CA' THEN 'CAD' ELSE 'EUR' END
    END AS currency,
    syn_pick(a.i, 'acct_status', ['active','active','active','active','active','active','active',
                                   'active','active','active','active','active','active','active',
                                   'active','active','frozen','closed','closed','closed']) AS status,
    syn_ts(a.i, 'acct_open', c.created_at, {start}) AS opened_at
  FROM range(1, {s.accounts} + 1) AS a(i)
  JOIN {r}.core_banking__customers AS c
    -- every customer gets one account first, the rest go to random customers
    ON c.customer_id = CASE WHEN a.i <= {s.customers} THEN a.i
                            ELSE syn_int(a.i, 'acct_cust', 1, {s.customers}) END
)
SELECT *, {_technical("core_banking__accounts", "account_id", "updated_at", s)}
FROM (SELECT *, greatest(opened_at, syn_ts(account_id, 'acct_upd', {start}, {end})) AS updated_at FROM rows)""",
        "merchants__merchants": f"""
INSERT INTO {r}.merchants__merchants BY NAME
WITH rows AS (
  SELECT i AS merchant_id,
    syn_pick(i, 'm_adj', ['Blue','Urban','Green','Golden','Swift','North','Bright','Silver','Metro','Prime'])
      || ' ' || syn_pick(i, 'm_noun', ['Market','Coffee','Travel','Books','Electronics','Pharmacy',
                                       'Fuel','Hotel','Grocer','Fashion'])
      || ' ' || syn_pick(i, 'm_suffix', ['Ltd','GmbH','Inc','SA','BV']) AS merchant_name,
    syn_pick(i, 'm_mcc', ['5411','5812','5999','4111','7011','5732','5912','5541','5651','5942']) AS mcc,
    syn_pick(i, 'm_country', ['US','US','GB','DE','FR','NL','CH','CA']) AS country,
    syn_pick(i, 'm_risk', ['low','low','low','low','low','low','medium','medium','medium','high']) AS risk_tier,
    {start} - to_days(syn_int(i, 'm_onboard', 10, 1200)::INTEGER) AS onboarded_at
  FROM range(1, {s.merchants} + 1) AS t(i)
)
SELECT *, {_technical("merchants__merchants", "merchant_id", "updated_at", s)}
FROM (SELECT *, syn_ts(merchant_id, 'm_upd', {start}, {end}) AS updated_at FROM rows)""",
        "merchants__merchant_fees": f"""
INSERT INTO {r}.merchants__merchant_fees BY NAME
WITH pricing AS (
  SELECT m.merchant_id, k,
    (m.merchant_id - 1) * 2 + k + 1 AS fee_id,
    CASE m.risk_tier WHEN 'low' THEN 150 WHEN 'medium' THEN 220 ELSE 290 END
      + syn_int(m.merchant_id * 2 + k, 'fee_bps', 0, 70) AS fee_bps,
    round(0.10 + 0.05 * syn_int(m.merchant_id * 2 + k, 'fee_fixed', 0, 5), 2) AS fixed_fee,
    CASE WHEN k = 0 THEN CAST(m.onboarded_at AS DATE)
         ELSE CAST({start} AS DATE) + syn_int(m.merchant_id, 'fee_change_day', 1, {WINDOW_DAYS - 1})::INTEGER
    END AS effective_from
  FROM {r}.merchants__merchants AS m, range(0, 2) AS kk(k)
  -- about half of the merchants were repriced during the window
  WHERE k = 0 OR syn_u(m.merchant_id, 'fee_change') < 0.5
), rows AS (
  SELECT fee_id, merchant_id, fee_bps::INTEGER AS fee_bps, fixed_fee, effective_from,
    CAST(effective_from AS TIMESTAMP) + to_minutes(syn_int(fee_id, 'fee_upd', 0, 600)) AS updated_at
  FROM pricing
)
SELECT *, {_technical("merchants__merchant_fees", "fee_id", "updated_at", s)} FROM rows""",
        "core_banking__transactions": f"""
INSERT INTO {r}.core_banking__transactions BY NAME
WITH draws AS (
  SELECT i, syn_int(i, 'txn_acct', 1, {s.accounts}) AS account_id, syn_u(i, 'txn_dir') < 0.82 AS is_debit,
    syn_ts(i, 'txn_ts', {start}, {end}) AS created_at
  FROM range(1, {s.transactions} + 1) AS t(i)
), rows AS (
  SELECT d.i AS transaction_id, d.account_id,
    CASE WHEN d.is_debit AND syn_u(d.i, 'txn_has_merchant') < 0.85
         THEN syn_int(d.i, 'txn_merchant', 1, {s.merchants}) END AS merchant_id,
    CASE WHEN d.is_debit THEN round(2 + pow(syn_u(d.i, 'txn_amt'), 3) * 1500, 2)
         ELSE round(50 + pow(syn_u(d.i, 'txn_amt'), 2) * 5000, 2) END AS amount,
    a.currency,
    CASE WHEN d.is_debit THEN 'debit' ELSE 'credit' END AS direction,
    syn_pick(d.i, 'txn_status', ['posted','posted','posted','posted','posted','posted','posted','posted',
                                 'posted','posted','posted','posted','posted','posted','posted','posted',
                                 'posted','pending','reversed','failed']) AS status,
    d.created_at,
    least(d.created_at + to_seconds(syn_int(d.i, 'txn_upd', 0, 43200)), {end}) AS updated_at
  FROM draws AS d JOIN {r}.core_banking__accounts AS a USING (account_id)
)
SELECT *, {_technical("core_banking__transactions", "transaction_id", "updated_at", s)} FROM rows""",
        "payments__payments": f"""
INSERT INTO {r}.payments__payments BY NAME
WITH rows AS (
  SELECT i AS payment_id, a.account_id, syn_int(i, 'pay_merchant', 1, {s.merchants}) AS merchant_id,
    round(5 + pow(syn_u(i, 'pay_amt'), 2) * 2500, 2) AS amount, a.currency,
    syn_pick(i, 'pay_method', ['card','card','card','card','card','bank_transfer','bank_transfer',
                               'wallet','wallet','direct_debit']) AS method,
    syn_pick(i, 'pay_status', ['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded',
                               'succeeded','succeeded','succeeded','succeeded','succeeded','succeeded',
                               'succeeded','succeeded','succeeded','succeeded','succeeded','succeeded',
                               'failed','pending']) AS status,
    syn_ts(i, 'pay_ts', {start}, {end}) AS created_at
  FROM range(1, {s.payments} + 1) AS t(i)
  JOIN {r}.core_banking__accounts AS a ON a.account_id = syn_int(i, 'pay_acct', 1, {s.accounts})
)
SELECT *, {_technical("payments__payments", "payment_id", "updated_at", s)}
FROM (SELECT *, least(created_at + to_seconds(syn_int(payment_id, 'pay_upd', 1, 7200)), {end}) AS updated_at
      FROM rows)""",
        "payments__refunds": f"""
INSERT INTO {r}.payments__refunds BY NAME
WITH rows AS (
  SELECT row_number() OVER (ORDER BY p.payment_id) AS refund_id, p.payment_id,
    CASE WHEN syn_u(p.payment_id, 'ref_full') < 0.6 THEN p.amount
         ELSE round(p.amount * (0.1 + 0.8 * syn_u(p.payment_id, 'ref_part')), 2) END AS amount,
    syn_pick(p.payment_id, 'ref_reason', ['customer_request','customer_request','duplicate',
                                          'product_not_received','fraudulent']) AS reason,
    least(p.created_at + to_seconds(syn_int(p.payment_id, 'ref_delay', 3600, 20 * 86400)), {end}) AS created_at
  FROM {r}.payments__payments AS p
  WHERE p.status = 'succeeded' AND syn_u(p.payment_id, 'ref_pick') < 0.06
)
SELECT *, {_technical("payments__refunds", "refund_id", "updated_at", s)}
FROM (SELECT *, created_at AS updated_at FROM rows)""",
        "payments__chargebacks": f"""
INSERT INTO {r}.payments__chargebacks BY NAME
WITH rows AS (
  SELECT row_number() OVER (ORDER BY p.payment_id) AS chargeback_id, p.payment_id, p.amount,
    syn_pick(p.payment_id, 'cb_reason', ['10.4','13.1','13.3','4837','4853']) AS reason_code,
    syn_pick(p.payment_id, 'cb_status', ['open','won','lost','lost']) AS status,
    least(p.created_at + to_days(syn_int(p.payment_id, 'cb_delay', 5, 45)::INTEGER), {end}) AS created_at
  FROM {r}.payments__payments AS p
  WHERE p.status = 'succeeded' AND p.method = 'card' AND syn_u(p.payment_id, 'cb_pick') < 0.03
)
SELECT *, {_technical("payments__chargebacks", "chargeback_id", "updated_at", s)}
FROM (SELECT *, least(created_at + to_days(syn_int(chargeback_id, 'cb_upd', 0, 20)::INTEGER), {end}) AS updated_at
      FROM rows)""",
        "risk__fraud_scores": f"""
INSERT INTO {r}.risk__fraud_scores BY NAME
WITH rows AS (
  SELECT t.transaction_id AS score_id, t.transaction_id,
    -- most transactions look clean; a few percent score high
    round(CASE WHEN syn_u(t.transaction_id, 'fraud_hot') < 0.03
               THEN 0.7 + 0.3 * syn_u(t.transaction_id, 'fraud_hi')
               ELSE 0.6 * pow(syn_u(t.transaction_id, 'fraud_lo'), 4) END, 4) AS score,
    CASE WHEN t.created_at < {start} + INTERVAL {WINDOW_DAYS // 2} DAY THEN 'fraud-gbm-3.1'
         ELSE 'fraud-gbm-3.2' END AS model_version,
    t.created_at + to_seconds(syn_int(t.transaction_id, 'fraud_lag', 1, 30)) AS scored_at
  FROM {r}.core_banking__transactions AS t
)
SELECT *, {_technical("risk__fraud_scores", "score_id", "updated_at", s)}
FROM (SELECT *, scored_at AS updated_at FROM rows)""",
        "risk__alerts": f"""
INSERT INTO {r}.risk__alerts BY NAME
WITH rows AS (
  SELECT i AS alert_id, syn_int(i, 'alert_acct', 1, {s.accounts}) AS account_id,
    syn_pick(i, 'alert_type', ['velocity','high_fraud_score','large_amount','geo_mismatch',
                               'new_device']) AS alert_type,
    syn_pick(i, 'alert_sev', ['low','low','low','medium','medium','high','critical']) AS severity,
    syn_ts(i, 'alert_ts', {start}, {end}) AS created_at
  FROM range(1, {s.alerts} + 1) AS t(i)
)
SELECT *, {_technical("risk__alerts", "alert_id", "updated_at", s)}
FROM (SELECT *, least(created_at + to_minutes(syn_int(alert_id, 'alert_upd', 0, 2880)), {end}) AS updated_at
      FROM rows)""",
        "s3_market__fx_rates": f"""
INSERT INTO {r}.s3_market__fx_rates BY NAME
SELECT CAST({start} AS DATE) + d::INTEGER AS rate_date, c.currency,
  CASE WHEN c.currency = 'USD' THEN 1
       ELSE c.base * (1 + 0.04 * sin(d / 23.0 + c.phase) + 0.006 * (syn_u(d * 10 + c.k, 'fx') - 0.5)) END AS usd_rate,
  's3://finsight-market/fx_rates/dt=' || strftime(CAST({start} AS DATE) + d::INTEGER, '%Y-%m-%d') || '/rates.csv'
    AS _file_name
FROM range(0, {WINDOW_DAYS} + 1) AS days(d) CROSS JOIN (VALUES {fx_values}) AS c(currency, base, phase, k)""",
        "s3_events__card_authorizations": f"""
INSERT INTO {r}.s3_events__card_authorizations BY NAME
WITH rows AS (
  SELECT 'auth_' || lpad(CAST(i AS VARCHAR), 10, '0') AS auth_id, a.account_id,
    syn_int(i, 'auth_merchant', 1, {s.merchants}) AS merchant_id,
    round(1 + pow(syn_u(i, 'auth_amt'), 3) * 1200, 2) AS amount, a.currency,
    syn_u(i, 'auth_ok') < 0.94 AS approved,
    syn_ts(i, 'auth_ts', {start}, {end}) AS event_ts
  FROM range(1, {s.card_authorizations} + 1) AS t(i)
  JOIN {r}.core_banking__accounts AS a ON a.account_id = syn_int(i, 'auth_acct', 1, {s.accounts})
)
SELECT *, 's3://finsight-events/card_authorizations/dt=' || strftime(event_ts, '%Y-%m-%d')
          || '/hour=' || strftime(event_ts, '%H') || '/part-00000.json.gz' AS _file_name
FROM rows""",
    }


def load_history_sql() -> str:
    """Record every S3 file behind the event tables as loaded (COPY INTO semantics by file name)."""
    r = RAW_SCHEMA
    return f"""
INSERT INTO {r}._load_history BY NAME
SELECT 's3_market__fx_rates' AS table_name, _file_name AS file_name,
  CAST(max(rate_date) AS TIMESTAMP) + INTERVAL 6 HOUR AS loaded_at
FROM {r}.s3_market__fx_rates GROUP BY _file_name
UNION ALL
SELECT 's3_events__card_authorizations', _file_name, max(event_ts) + INTERVAL 15 MINUTE
FROM {r}.s3_events__card_authorizations GROUP BY _file_name"""
