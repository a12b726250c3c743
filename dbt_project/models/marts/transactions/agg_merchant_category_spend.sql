-- Monthly card spend per merchant category (posted debits at merchants).
select
    cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) as spend_month,
    cast(merchant_category_code as varchar) as merchant_category_code,
    cast(count(*) as bigint) as transaction_count,
    cast(count(distinct customer_id) as bigint) as customer_count,
    cast(sum(amount_usd) as decimal(18, 2)) as spend_usd,
    cast(round(avg(amount_usd), 2) as decimal(18, 2)) as avg_ticket_usd
from {{ ref('int_transactions_enriched') }}
where transaction_status = 'posted'
    and direction = 'debit'
    and merchant_id is not null
group by {{ dbt.date_trunc('month', 'transaction_date') }}, merchant_category_code
