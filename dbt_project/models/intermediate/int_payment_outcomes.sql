-- Each payment with what happened after it: refunds, chargebacks, and the amount the merchant keeps.
select
    p.*,
    coalesce(r.refund_count, 0) as refund_count,
    coalesce(r.refunded_amount, 0) as refunded_amount,
    coalesce(c.chargeback_count, 0) as chargeback_count,
    coalesce(c.chargeback_amount, 0) as chargeback_amount,
    coalesce(c.lost_chargeback_amount, 0) as lost_chargeback_amount,
    case when p.payment_status = 'succeeded'
        then p.amount - coalesce(r.refunded_amount, 0) - coalesce(c.lost_chargeback_amount, 0)
        else 0
    end as net_settled_amount
from {{ ref('int_payments_usd') }} as p
left join {{ ref('int_payment_refunds') }} as r
    on p.payment_id = r.payment_id
left join {{ ref('int_payment_chargebacks') }} as c
    on p.payment_id = c.payment_id
