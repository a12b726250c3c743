select
    cast(a.alert_id as bigint) as alert_id,
    cast(a.account_id as bigint) as account_id,
    cast(ca.customer_id as bigint) as customer_id,
    cast(a.alert_type as varchar) as alert_type,
    cast(a.severity as varchar) as severity,
    cast(a.severity in ('high', 'critical') as boolean) as is_high_severity,
    cast(ca.customer_segment as varchar) as customer_segment,
    cast(ca.kyc_status as varchar) as kyc_status,
    cast(a.created_at as timestamp) as created_at,
    cast(a.alert_date as date) as alert_date
from {{ ref('stg_risk__alerts') }} as a
inner join {{ ref('int_customer_accounts') }} as ca
    on a.account_id = ca.account_id
