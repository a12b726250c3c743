select
    cast(account_id as bigint) as account_id,
    cast({{ dbt.date_trunc('month', 'flow_date') }} as date) as flow_month,
    cast(sum(transaction_count) as bigint) as transaction_count,
    cast(sum(inflow_usd) as decimal(18, 2)) as inflow_usd,
    cast(sum(outflow_usd) as decimal(18, 2)) as outflow_usd,
    cast(sum(net_flow_usd) as decimal(18, 2)) as net_flow_usd
from {{ ref('int_account_daily_flows') }}
group by account_id, {{ dbt.date_trunc('month', 'flow_date') }}
