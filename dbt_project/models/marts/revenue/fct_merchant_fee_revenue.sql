select
    cast(payment_id as bigint) as payment_id,
    cast(merchant_id as bigint) as merchant_id,
    cast(fee_id as bigint) as fee_id,
    cast(payment_date as date) as payment_date,
    cast({{ dbt.date_trunc('month', 'payment_date') }} as date) as revenue_month,
    cast(currency_code as varchar) as currency_code,
    cast(fee_bps as integer) as fee_bps,
    cast(fixed_fee as decimal(10, 2)) as fixed_fee,
    cast(fee_amount as decimal(18, 2)) as fee_amount,
    cast(fee_usd as decimal(18, 2)) as fee_usd
from {{ ref('int_payment_fees') }}
