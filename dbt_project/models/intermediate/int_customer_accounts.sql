-- Accounts with the attributes of the customer who owns them.
select
    a.account_id,
    a.customer_id,
    a.account_type,
    a.currency_code,
    a.account_status,
    a.opened_at,
    c.country_code,
    c.customer_segment,
    c.kyc_status
from {{ ref('stg_core_banking__accounts') }} as a
inner join {{ ref('stg_core_banking__customers') }} as c
    on a.customer_id = c.customer_id
