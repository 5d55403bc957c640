{{ config(alias='sales_opportunities') }}
-- marts.sales_opportunities for BI tools: opportunity_name replaced by salted hashes (macro bi_mask).
select
    {{ sm_bi_select({'opportunity_name_hash': 'opportunity_name'}) }}
from {{ ref('sales_opportunities') }}
