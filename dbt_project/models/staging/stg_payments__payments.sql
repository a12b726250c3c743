with source as (
    select * from {{ source('payments', 'payments') }}
)

select
    cast(payment_id as bigint) as payment_id,
    cast(account_id as bigint) as account_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(amount as decimal(18, 2)) as amount,
    upper(currency) as currency_code,
    lower(method) as payment_method,
    lower(status) as payment_status,
    cast(created_at as timestamp) as created_at,
    cast(created_at as date) as payment_date,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
