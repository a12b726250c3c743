-- Fee revenue against processed volume per month; take rate = revenue / volume in basis points.
with fees as (
    select
        {{ dbt.date_trunc('month', 'payment_date') }} as revenue_month,
        count(*) as payment_count,
        sum(fee_usd) as fee_revenue_usd,
        sum(amount * usd_rate) as processed_volume_usd
    from {{ ref('int_payment_fees') }}
    group by {{ dbt.date_trunc('month', 'payment_date') }}
),

losses as (
    select
        {{ dbt.date_trunc('month', 'payment_date') }} as revenue_month,
        sum(refunded_amount * usd_rate) as refunded_usd,
        sum(lost_chargeback_amount * usd_rate) as chargeback_loss_usd
    from {{ ref('int_payment_outcomes') }}
    group by {{ dbt.date_trunc('month', 'payment_date') }}
)

select
    cast(f.revenue_month as date) as revenue_month,
    cast(f.payment_count as bigint) as payment_count,
    cast(round(f.processed_volume_usd, 2) as decimal(18, 2)) as processed_volume_usd,
    cast(f.fee_revenue_usd as decimal(18, 2)) as fee_revenue_usd,
    cast(round(coalesce(l.refunded_usd, 0), 2) as decimal(18, 2)) as refunded_usd,
    cast(round(coalesce(l.chargeback_loss_usd, 0), 2) as decimal(18, 2)) as chargeback_loss_usd,
    cast(10000 * f.fee_revenue_usd / nullif(f.processed_volume_usd, 0) as double) as take_rate_bps
from fees as f
left join losses as l
    on f.revenue_month = l.revenue_month
