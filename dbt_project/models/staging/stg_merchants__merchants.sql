with source as (
    select * from {{ source('merchants', 'merchants') }}
)

select
    cast(merchant_id as bigint) as merchant_id,
    merchant_name,
    mcc as merchant_category_code,
    upper(country) as country_code,
    lower(risk_tier) as risk_tier,
    cast(onboarded_at as timestamp) as onboarded_at,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
