-- Card authorizations in USD with the merchant's risk tier.
select
    a.auth_id,
    a.account_id,
    a.merchant_id,
    a.is_approved,
    a.currency_code,
    a.amount,
    cast(round(a.amount * fx.usd_rate, 2) as decimal(18, 2)) as amount_usd,
    coalesce(m.risk_tier, 'unknown') as merchant_risk_tier,
    a.event_at,
    a.event_date
from {{ ref('stg_s3_events__card_authorizations') }} as a
left join {{ ref('stg_s3_market__fx_rates') }} as fx
    on a.event_date = fx.rate_date
    and a.currency_code = fx.currency_code
left join {{ ref('stg_merchants__merchants') }} as m
    on a.merchant_id = m.merchant_id
