{#-
    The match keys of the identity nodes in `nodes` (a relation or CTE with the columns of
    int_identity__nodes): one row per node and rule it has a key for, with
    node_id, node_rank, source_name ('system:entity'), night, rule, match_key and key_source
    (the attribute the key comes from). The rules: int_identity__attribute_links.
-#}
{% macro identity_match_keys(nodes) -%}
    {%- set source_name = dbt.concat(["source_system", "':'", "entity"]) ~ " as source_name" %}
    select node_id, node_rank, {{ source_name }}, night, 'email' as rule, email_norm as match_key, 'email' as key_source
    from {{ nodes }} where email_norm is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'phone', phone_e164, 'phone'
    from {{ nodes }} where phone_e164 is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'vat_id', vat_id_norm, 'vat_id'
    from {{ nodes }} where vat_id_norm is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'domain', email_domain, 'email'
    from {{ nodes }} where email_domain is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'domain', website_domain, 'website'
    from {{ nodes }} where website_domain is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'company_name+city', {{ dbt.concat(["company_name_norm", "'|'", "city_norm"]) }}, 'company_name'
    from {{ nodes }} where company_name_norm is not null and city_norm is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'name+company', {{ dbt.concat(["person_name_norm", "'|'", "company_name_norm"]) }}, 'person_name'
    from {{ nodes }} where person_name_norm is not null and company_name_norm is not null
    union all
    select node_id, node_rank, {{ source_name }}, night, 'name+city', {{ dbt.concat(["person_name_norm", "'|'", "city_norm"]) }}, 'person_name'
    from {{ nodes }} where party_type = 'consumer' and person_name_norm is not null and city_norm is not null
{%- endmacro %}
