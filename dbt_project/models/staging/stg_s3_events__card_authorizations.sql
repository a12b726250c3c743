with source as (
    select * from {{ source('s3_events', 'card_authorizations') }}
)

select
    auth_id,
    cast(account_id as bigint) as account_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(amount as decimal(18, 2)) as amount,
    upper(currency) as currency_code,
    cast(approved as boolean) as is_approved,
    cast(event_ts as timestamp) as event_at,
    cast(event_ts as date) as event_date,
    _file_name as file_name
from source
