with source as (
    select * from {{ source('merchants', 'merchant_fees') }}
)

select
    cast(fee_id as bigint) as fee_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(fee_bps as integer) as fee_bps,
    cast(fixed_fee as decimal(10, 2)) as fixed_fee,
    cast(effective_from as date) as effective_from,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
