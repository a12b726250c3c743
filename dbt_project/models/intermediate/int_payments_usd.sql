-- Payments converted to USD at the rate of their day.
select
    p.payment_id,
    p.account_id,
    p.merchant_id,
    p.payment_method,
    p.payment_status,
    p.currency_code,
    p.amount,
    fx.usd_rate,
    cast(round(p.amount * fx.usd_rate, 2) as decimal(18, 2)) as amount_usd,
    p.created_at,
    p.payment_date
from {{ ref('stg_payments__payments') }} as p
left join {{ ref('stg_s3_market__fx_rates') }} as fx
    on p.payment_date = fx.rate_date
    and p.currency_code = fx.currency_code
