-- Every transaction and payment must find the USD rate of its day; a gap in the FX feed would
-- silently drop volume from every USD figure downstream.
select 'transaction' as kind, transaction_id as id, transaction_date as day, currency_code
from {{ ref('int_transactions_usd') }}
where usd_rate is null
union all
select 'payment', payment_id, payment_date, currency_code
from {{ ref('int_payments_usd') }}
where usd_rate is null
