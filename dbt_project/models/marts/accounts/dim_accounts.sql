with flows as (
    select
        account_id,
        sum(transaction_count) as transaction_count,
        sum(inflow_usd) as inflow_usd,
        sum(outflow_usd) as outflow_usd,
        sum(net_flow_usd) as net_flow_usd,
        max(flow_date) as last_activity_date
    from {{ ref('int_account_daily_flows') }}
    group by account_id
)

select
    cast(ca.account_id as bigint) as account_id,
    cast(ca.customer_id as bigint) as customer_id,
    cast(ca.account_type as varchar) as account_type,
    cast(ca.currency_code as varchar) as currency_code,
    cast(ca.account_status as varchar) as account_status,
    cast(ca.opened_at as timestamp) as opened_at,
    cast(ca.country_code as varchar) as country_code,
    cast(ca.customer_segment as varchar) as customer_segment,
    cast(coalesce(f.transaction_count, 0) as bigint) as transaction_count,
    cast(coalesce(f.inflow_usd, 0) as decimal(18, 2)) as total_inflow_usd,
    cast(coalesce(f.outflow_usd, 0) as decimal(18, 2)) as total_outflow_usd,
    cast(coalesce(f.net_flow_usd, 0) as decimal(18, 2)) as net_flow_usd,
    cast(f.last_activity_date as date) as last_activity_date
from {{ ref('int_customer_accounts') }} as ca
left join flows as f
    on ca.account_id = f.account_id
