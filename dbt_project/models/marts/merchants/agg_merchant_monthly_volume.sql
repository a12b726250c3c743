select
    cast(merchant_id as bigint) as merchant_id,
    cast({{ dbt.date_trunc('month', 'payment_date') }} as date) as volume_month,
    cast(count(*) as bigint) as payment_count,
    cast(sum(case when payment_status = 'succeeded' then 1 else 0 end) as bigint) as succeeded_count,
    cast(sum(case when payment_status = 'succeeded' then amount_usd else 0 end) as decimal(18, 2))
        as gross_volume_usd,
    cast(round(sum(refunded_amount * usd_rate), 2) as decimal(18, 2)) as refunded_usd,
    cast(sum(chargeback_count) as bigint) as chargeback_count
from {{ ref('int_payment_outcomes') }}
group by merchant_id, {{ dbt.date_trunc('month', 'payment_date') }}
