with accounts as (
    select
        customer_id,
        count(*) as account_count,
        sum(case when account_status = 'active' then 1 else 0 end) as active_account_count,
        min(opened_at) as first_account_opened_at
    from {{ ref('int_customer_accounts') }}
    group by customer_id
),

activity as (
    select
        ca.customer_id,
        sum(f.transaction_count) as transaction_count,
        sum(f.net_flow_usd) as net_flow_usd
    from {{ ref('int_account_daily_flows') }} as f
    inner join {{ ref('int_customer_accounts') }} as ca
        on f.account_id = ca.account_id
    group by ca.customer_id
)

select
    cast(c.customer_id as bigint) as customer_id,
    cast(c.full_name as varchar) as full_name,
    cast(c.email as varchar) as email,
    cast(c.country_code as varchar) as country_code,
    cast(c.customer_segment as varchar) as customer_segment,
    cast(c.kyc_status as varchar) as kyc_status,
    cast(c.created_at as timestamp) as created_at,
    cast(coalesce(a.account_count, 0) as bigint) as account_count,
    cast(coalesce(a.active_account_count, 0) as bigint) as active_account_count,
    cast(a.first_account_opened_at as timestamp) as first_account_opened_at,
    cast(coalesce(act.transaction_count, 0) as bigint) as lifetime_transaction_count,
    cast(coalesce(act.net_flow_usd, 0) as decimal(18, 2)) as lifetime_net_flow_usd
from {{ ref('stg_core_banking__customers') }} as c
left join accounts as a
    on c.customer_id = a.customer_id
left join activity as act
    on c.customer_id = act.customer_id
