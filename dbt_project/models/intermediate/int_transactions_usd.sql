-- Transactions converted to USD at the rate of their day.
select
    t.transaction_id,
    t.account_id,
    t.merchant_id,
    t.direction,
    t.transaction_status,
    t.currency_code,
    t.amount,
    t.signed_amount,
    fx.usd_rate,
    cast(round(t.amount * fx.usd_rate, 2) as decimal(18, 2)) as amount_usd,
    cast(round(t.signed_amount * fx.usd_rate, 2) as decimal(18, 2)) as signed_amount_usd,
    t.created_at,
    t.transaction_date
from {{ ref('stg_core_banking__transactions') }} as t
left join {{ ref('stg_s3_market__fx_rates') }} as fx
    on t.transaction_date = fx.rate_date
    and t.currency_code = fx.currency_code
