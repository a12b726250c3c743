-- The fee FinSight earns on each succeeded payment, at the merchant's fee in force that day.
select
    p.payment_id,
    p.merchant_id,
    p.payment_date,
    p.currency_code,
    p.usd_rate,
    p.amount,
    f.fee_id,
    f.fee_bps,
    f.fixed_fee,
    cast(round(p.amount * f.fee_bps / 10000.0 + f.fixed_fee, 2) as decimal(18, 2)) as fee_amount,
    cast(round((p.amount * f.fee_bps / 10000.0 + f.fixed_fee) * p.usd_rate, 2) as decimal(18, 2)) as fee_usd
from {{ ref('int_payments_usd') }} as p
inner join {{ ref('int_merchant_fee_schedules') }} as f
    on p.merchant_id = f.merchant_id
    and p.payment_date >= f.effective_from
    and (f.effective_to is null or p.payment_date < f.effective_to)
where p.payment_status = 'succeeded'
