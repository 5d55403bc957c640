{{ config(alias='sales_leads') }}
-- marts.sales_leads for BI tools: lead_company replaced by salted hashes (macro bi_mask).
select
    {{ sm_bi_select({'lead_company_hash': 'lead_company'}) }}
from {{ ref('sales_leads') }}
