with source as (
    select * from {{ source('payments', 'refunds') }}
)

select
    cast(refund_id as bigint) as refund_id,
    cast(payment_id as bigint) as payment_id,
    cast(amount as decimal(18, 2)) as refund_amount,
    lower(reason) as refund_reason,
    cast(created_at as timestamp) as created_at,
    cast(created_at as date) as refund_date,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
