-- Refunds and chargebacks in one table: every way money flows back from a payment.
with refunds as (
    select
        {{ dbt.concat(["'refund-'", "cast(r.refund_id as varchar)"]) }} as dispute_id,
        'refund' as dispute_type,
        r.payment_id,
        r.refund_amount as amount,
        r.refund_reason as reason,
        'settled' as dispute_status,
        r.created_at,
        r.refund_date as dispute_date
    from {{ ref('stg_payments__refunds') }} as r
),

chargebacks as (
    select
        {{ dbt.concat(["'chargeback-'", "cast(c.chargeback_id as varchar)"]) }} as dispute_id,
        'chargeback' as dispute_type,
        c.payment_id,
        c.chargeback_amount as amount,
        c.reason_code as reason,
        c.chargeback_status as dispute_status,
        c.created_at,
        c.chargeback_date as dispute_date
    from {{ ref('stg_payments__chargebacks') }} as c
),

disputes as (
    select * from refunds
    union all
    select * from chargebacks
)

select
    cast(d.dispute_id as varchar) as dispute_id,
    cast(d.dispute_type as varchar) as dispute_type,
    cast(d.payment_id as bigint) as payment_id,
    cast(p.merchant_id as bigint) as merchant_id,
    cast(p.currency_code as varchar) as currency_code,
    cast(d.amount as decimal(18, 2)) as amount,
    cast(round(d.amount * p.usd_rate, 2) as decimal(18, 2)) as amount_usd,
    cast(d.reason as varchar) as reason,
    cast(d.dispute_status as varchar) as dispute_status,
    cast(d.created_at as timestamp) as created_at,
    cast(d.dispute_date as date) as dispute_date
from disputes as d
inner join {{ ref('int_payments_usd') }} as p
    on d.payment_id = p.payment_id
