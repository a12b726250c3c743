with source as (
    select * from {{ source('risk', 'alerts') }}
)

select
    cast(alert_id as bigint) as alert_id,
    cast(account_id as bigint) as account_id,
    lower(alert_type) as alert_type,
    lower(severity) as severity,
    cast(created_at as timestamp) as created_at,
    cast(created_at as date) as alert_date,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
