-- Fee schedule as validity intervals: a fee applies from effective_from until the next one starts.
select
    fee_id,
    merchant_id,
    fee_bps,
    fixed_fee,
    effective_from,
    lead(effective_from) over (partition by merchant_id order by effective_from) as effective_to,
    case
        when lead(effective_from) over (partition by merchant_id order by effective_from) is null then true
        else false
    end as is_current
from {{ ref('stg_merchants__merchant_fees') }}
