with source as (
    select * from {{ source('core_banking', 'customers') }}
)

select
    cast(customer_id as bigint) as customer_id,
    full_name,
    lower(email) as email,
    upper(country) as country_code,
    lower(segment) as customer_segment,
    lower(kyc_status) as kyc_status,
    cast(created_at as timestamp) as created_at,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
