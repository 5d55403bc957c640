{#-
    The match keys of the identity nodes in `nodes` (a relation or CTE with the columns of
    int_identity__nodes): one row per node and rule it has a key for, with
    node_id, node_rank, source_name ('system:entity'), night, rule, match_key and key_source
    (the attribute the key comes from). The rules: int_identity__attribute_links.
-#}
{% macro identity_match_keys(nodes) -%}
    {#- rule, the normalised columns its key is (two joined by '|'; none may be null), key_source, a further condition -#}
    {%- set rules = [
        ['email', ['email_norm'], 'email', none],
        ['phone', ['phone_e164'], 'phone', none],
        ['vat_id', ['vat_id_norm'], 'vat_id', none],
        ['domain', ['email_domain'], 'email', none],
        ['domain', ['website_domain'], 'website', none],
        ['company_name+city', ['company_name_norm', 'city_norm'], 'company_name', none],
        ['name+company', ['person_name_norm', 'company_name_norm'], 'person_name', none],
        ['name+city', ['person_name_norm', 'city_norm'], 'person_name', "party_type = 'consumer'"],
    ] -%}
    {%- for rule, columns, key_source, condition in rules %}
    select
        node_id,
        node_rank,
        {{ dbt.concat(["source_system", "':'", "entity"]) }} as source_name,
        night,
        '{{ rule }}' as rule,
        {{ columns[0] if columns | length == 1 else dbt.concat([columns[0], "'|'", columns[1]]) }} as match_key,
        '{{ key_source }}' as key_source
    from {{ nodes }}
    where {{ columns | join(' is not null and ') }} is not null{{ ' and ' ~ condition if condition }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
