{{ config(alias='sales_rep_performance') }}
-- marts.sales_rep_performance for BI tools: rep_name replaced by salted hashes (macro bi_mask).
select
    {{ sm_bi_select({'rep_name_hash': 'rep_name'}) }}
from {{ ref('sales_rep_performance') }}
