-- USD transactions with their fraud score and a risk band for reporting.
select
    t.*,
    s.fraud_score,
    s.model_version as fraud_model_version,
    case
        when s.fraud_score is null then 'unscored'
        when s.fraud_score >= {{ var('high_risk_score', 0.8) }} then 'high'
        when s.fraud_score >= 0.4 then 'medium'
        else 'low'
    end as fraud_risk_band
from {{ ref('int_transactions_usd') }} as t
left join {{ ref('stg_risk__fraud_scores') }} as s
    on t.transaction_id = s.transaction_id
