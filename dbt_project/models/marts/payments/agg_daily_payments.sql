select
    cast(payment_date as date) as payment_date,
    cast(payment_method as varchar) as payment_method,
    cast(count(*) as bigint) as payment_count,
    cast(sum(case when payment_status = 'succeeded' then 1 else 0 end) as bigint) as succeeded_count,
    cast(sum(case when payment_status = 'failed' then 1 else 0 end) as bigint) as failed_count,
    cast(sum(case when payment_status = 'succeeded' then 1 else 0 end) as double) / count(*) as success_rate,
    cast(sum(case when payment_status = 'succeeded' then amount_usd else 0 end) as decimal(18, 2)) as volume_usd
from {{ ref('int_payments_usd') }}
group by payment_date, payment_method
