with source as (
    select * from {{ source('core_banking', 'accounts') }}
)

select
    cast(account_id as bigint) as account_id,
    cast(customer_id as bigint) as customer_id,
    lower(account_type) as account_type,
    upper(currency) as currency_code,
    lower(status) as account_status,
    cast(opened_at as timestamp) as opened_at,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
