-- The monthly revenue mart must add up to the per-payment fee facts (to the cent per payment).
with facts as (
    select revenue_month, sum(fee_usd) as fee_usd, count(*) as payments
    from {{ ref('fct_merchant_fee_revenue') }}
    group by revenue_month
)

select f.revenue_month, f.fee_usd, r.fee_revenue_usd
from facts as f
left join {{ ref('agg_monthly_revenue') }} as r
    on f.revenue_month = r.revenue_month
where r.revenue_month is null
    or abs(f.fee_usd - r.fee_revenue_usd) > 0.01 * f.payments
