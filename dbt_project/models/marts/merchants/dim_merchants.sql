with current_fees as (
    select merchant_id, fee_bps, fixed_fee
    from {{ ref('int_merchant_fee_schedules') }}
    where is_current
),

volume as (
    select
        merchant_id,
        count(*) as payment_count,
        sum(case when payment_status = 'succeeded' then amount_usd else 0 end) as gross_volume_usd,
        sum(chargeback_count) as chargeback_count
    from {{ ref('int_payment_outcomes') }}
    group by merchant_id
)

select
    cast(m.merchant_id as bigint) as merchant_id,
    cast(m.merchant_name as varchar) as merchant_name,
    cast(m.merchant_category_code as varchar) as merchant_category_code,
    cast(m.country_code as varchar) as country_code,
    cast(m.risk_tier as varchar) as risk_tier,
    cast(m.onboarded_at as timestamp) as onboarded_at,
    cast(f.fee_bps as integer) as current_fee_bps,
    cast(f.fixed_fee as decimal(10, 2)) as current_fixed_fee,
    cast(coalesce(v.payment_count, 0) as bigint) as payment_count,
    cast(coalesce(v.gross_volume_usd, 0) as decimal(18, 2)) as gross_volume_usd,
    cast(coalesce(v.chargeback_count, 0) as bigint) as chargeback_count
from {{ ref('stg_merchants__merchants') }} as m
left join current_fees as f
    on m.merchant_id = f.merchant_id
left join volume as v
    on m.merchant_id = v.merchant_id
