-- Chargeback totals per payment; only lost chargebacks cost money.
select
    payment_id,
    count(*) as chargeback_count,
    sum(chargeback_amount) as chargeback_amount,
    sum(case when chargeback_status = 'lost' then chargeback_amount else 0 end) as lost_chargeback_amount,
    min(created_at) as first_chargeback_at
from {{ ref('stg_payments__chargebacks') }}
group by payment_id
