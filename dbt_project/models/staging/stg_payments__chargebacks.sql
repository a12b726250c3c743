with source as (
    select * from {{ source('payments', 'chargebacks') }}
)

select
    cast(chargeback_id as bigint) as chargeback_id,
    cast(payment_id as bigint) as payment_id,
    cast(amount as decimal(18, 2)) as chargeback_amount,
    reason_code,
    lower(status) as chargeback_status,
    cast(created_at as timestamp) as created_at,
    cast(created_at as date) as chargeback_date,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
