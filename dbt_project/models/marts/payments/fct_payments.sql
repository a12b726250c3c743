select
    cast(o.payment_id as bigint) as payment_id,
    cast(o.account_id as bigint) as account_id,
    cast(o.merchant_id as bigint) as merchant_id,
    cast(o.payment_method as varchar) as payment_method,
    cast(o.payment_status as varchar) as payment_status,
    cast(o.currency_code as varchar) as currency_code,
    cast(o.amount as decimal(18, 2)) as amount,
    cast(o.amount_usd as decimal(18, 2)) as amount_usd,
    cast(o.refund_count as bigint) as refund_count,
    cast(o.refunded_amount as decimal(18, 2)) as refunded_amount,
    cast(o.chargeback_count as bigint) as chargeback_count,
    cast(o.lost_chargeback_amount as decimal(18, 2)) as lost_chargeback_amount,
    cast(o.net_settled_amount as decimal(18, 2)) as net_settled_amount,
    cast(coalesce(f.fee_usd, 0) as decimal(18, 2)) as fee_usd,
    cast(o.created_at as timestamp) as created_at,
    cast(o.payment_date as date) as payment_date
from {{ ref('int_payment_outcomes') }} as o
left join {{ ref('int_payment_fees') }} as f
    on o.payment_id = f.payment_id
