with source as (
    select * from {{ source('core_banking', 'transactions') }}
)

select
    cast(transaction_id as bigint) as transaction_id,
    cast(account_id as bigint) as account_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(amount as decimal(18, 2)) as amount,
    -- debits leave the account: negative in the account's ledger view
    cast(case when lower(direction) = 'debit' then -amount else amount end as decimal(18, 2)) as signed_amount,
    upper(currency) as currency_code,
    lower(direction) as direction,
    lower(status) as transaction_status,
    cast(created_at as timestamp) as created_at,
    cast(created_at as date) as transaction_date,
    cast(updated_at as timestamp) as updated_at,
    cast(_loaded_at as timestamp) as loaded_at,
    _batch_id as batch_id
from source
