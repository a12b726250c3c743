-- Posted volume per day, currency and direction.
select
    cast(transaction_date as date) as transaction_date,
    cast(currency_code as varchar) as currency_code,
    cast(direction as varchar) as direction,
    cast(count(*) as bigint) as transaction_count,
    cast(sum(amount) as decimal(18, 2)) as amount,
    cast(sum(amount_usd) as decimal(18, 2)) as amount_usd
from {{ ref('int_transactions_usd') }}
where transaction_status = 'posted'
group by transaction_date, currency_code, direction
