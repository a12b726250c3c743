with source as (
    select * from {{ source('s3_market', 'fx_rates') }}
)

select
    cast(rate_date as date) as rate_date,
    upper(currency) as currency_code,
    cast(usd_rate as decimal(18, 8)) as usd_rate,
    _file_name as file_name
from source
