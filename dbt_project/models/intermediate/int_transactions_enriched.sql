-- Scored transactions with account, customer and merchant context: the grain of fct_transactions.
select
    t.*,
    ca.customer_id,
    ca.account_type,
    ca.customer_segment,
    ca.country_code as customer_country_code,
    m.merchant_name,
    m.merchant_category_code,
    m.risk_tier as merchant_risk_tier
from {{ ref('int_transactions_scored') }} as t
inner join {{ ref('int_customer_accounts') }} as ca
    on t.account_id = ca.account_id
left join {{ ref('stg_merchants__merchants') }} as m
    on t.merchant_id = m.merchant_id
