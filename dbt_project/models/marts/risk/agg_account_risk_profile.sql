-- One risk row per account, from fraud scores, alerts and chargebacks.
with scores as (
    select
        account_id,
        max(fraud_score) as max_fraud_score,
        avg(fraud_score) as avg_fraud_score,
        sum(case when fraud_risk_band = 'high' then 1 else 0 end) as high_risk_transaction_count
    from {{ ref('int_transactions_scored') }}
    group by account_id
),

alerts as (
    select
        account_id,
        count(*) as alert_count,
        sum(case when severity = 'critical' then 1 else 0 end) as critical_alert_count
    from {{ ref('stg_risk__alerts') }}
    group by account_id
),

chargebacks as (
    select account_id, sum(chargeback_count) as chargeback_count
    from {{ ref('int_payment_outcomes') }}
    group by account_id
),

profile as (
    select
        ca.account_id,
        ca.customer_id,
        s.max_fraud_score,
        s.avg_fraud_score,
        coalesce(s.high_risk_transaction_count, 0) as high_risk_transaction_count,
        coalesce(al.alert_count, 0) as alert_count,
        coalesce(al.critical_alert_count, 0) as critical_alert_count,
        coalesce(cb.chargeback_count, 0) as chargeback_count
    from {{ ref('int_customer_accounts') }} as ca
    left join scores as s on ca.account_id = s.account_id
    left join alerts as al on ca.account_id = al.account_id
    left join chargebacks as cb on ca.account_id = cb.account_id
)

select
    cast(account_id as bigint) as account_id,
    cast(customer_id as bigint) as customer_id,
    cast(max_fraud_score as double) as max_fraud_score,
    cast(avg_fraud_score as double) as avg_fraud_score,
    cast(high_risk_transaction_count as bigint) as high_risk_transaction_count,
    cast(alert_count as bigint) as alert_count,
    cast(critical_alert_count as bigint) as critical_alert_count,
    cast(chargeback_count as bigint) as chargeback_count,
    cast(
        case
            when critical_alert_count > 0 or high_risk_transaction_count >= 2 then 'high'
            when alert_count > 0 or high_risk_transaction_count = 1 or chargeback_count > 0 then 'elevated'
            else 'normal'
        end as varchar
    ) as risk_rating
from profile
