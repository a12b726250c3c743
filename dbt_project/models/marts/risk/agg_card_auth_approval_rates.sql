select
    cast(event_date as date) as event_date,
    cast(merchant_risk_tier as varchar) as merchant_risk_tier,
    cast(count(*) as bigint) as auth_count,
    cast(sum(case when is_approved then 1 else 0 end) as bigint) as approved_count,
    cast(sum(case when is_approved then 1 else 0 end) as double) / count(*) as approval_rate,
    cast(sum(case when is_approved then amount_usd else 0 end) as decimal(18, 2)) as approved_amount_usd
from {{ ref('int_card_authorizations_usd') }}
group by event_date, merchant_risk_tier
