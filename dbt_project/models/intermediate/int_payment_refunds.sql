-- Refund totals per payment.
select
    payment_id,
    count(*) as refund_count,
    sum(refund_amount) as refunded_amount,
    min(created_at) as first_refunded_at
from {{ ref('stg_payments__refunds') }}
group by payment_id
