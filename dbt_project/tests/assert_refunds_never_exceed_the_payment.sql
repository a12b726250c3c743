-- A payment can be refunded at most in full.
select payment_id, amount, refunded_amount
from {{ ref('fct_payments') }}
where refunded_amount > amount
