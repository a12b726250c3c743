with source as (
    select * from {{ source('risk', 'fraud_scores') }}
)

select
    cast(score_id as bigint) as score_id,
    cast(transaction_id as bigint) as transaction_id,
    cast(score as double) as fraud_score,
    model_version,
    cast(scored_at as timestamp) as scored_at,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
