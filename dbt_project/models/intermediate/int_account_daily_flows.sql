-- Money in and out per account and day, in USD, from posted transactions only.
select
    account_id,
    transaction_date as flow_date,
    count(*) as transaction_count,
    sum(case when direction = 'credit' then amount_usd else 0 end) as inflow_usd,
    sum(case when direction = 'debit' then amount_usd else 0 end) as outflow_usd,
    sum(signed_amount_usd) as net_flow_usd
from {{ ref('int_transactions_usd') }}
where transaction_status = 'posted'
group by account_id, transaction_date
