{{ config(materialized='table') }}
{#-
    Links from equal normalised attributes. Each rule gives a node a match key; all
    nodes sharing a key are linked to the key's hub (its lowest-ranked node), a star
    instead of every pair, so the links grow linearly with the records.

    rule (match_reason)  key                                       who has it
    email                e-mail, lower-cased                       everyone with an e-mail
    phone                phone in E.164                            everyone with a phone
    vat_id               VAT id, upper-case alphanumerics          ERP customers
    email_domain /       company domain: non-freemail e-mail       people at companies, accounts
      website_domain       domain or website host                  (website_domain if a website is involved)
    company_name+city    company name without legal form + city   accounts, ERP customers
    name+company         person name (tokens sorted) + company    contacts, leads, requesters
    name+city            person name (tokens sorted) + city       consumer accounts and ERP consumers

    The name rules are weak (two people can share a name and a city): their key is used
    only when it is unambiguous, i.e. no two records of the same source entity carry it
    (two ERP consumers 'Anna Muller|berlin' are two people until e-mail or phone says otherwise).

    A table: the links model and a data test read it; as a view each redid the matching (~25 s at scale l).
-#}
with nodes as (
    select
        *,
        {{ dbt.concat(["source_system", "':'", "entity"]) }} as source_name
    from {{ ref('int_identity__nodes') }}
),

keys as (
    select node_id, node_rank, source_name, 'email' as rule, email_norm as match_key, 'email' as key_source
    from nodes where email_norm is not null
    union all
    select node_id, node_rank, source_name, 'phone', phone_e164, 'phone'
    from nodes where phone_e164 is not null
    union all
    select node_id, node_rank, source_name, 'vat_id', vat_id_norm, 'vat_id'
    from nodes where vat_id_norm is not null
    union all
    select node_id, node_rank, source_name, 'domain', email_domain, 'email'
    from nodes where email_domain is not null
    union all
    select node_id, node_rank, source_name, 'domain', website_domain, 'website'
    from nodes where website_domain is not null
    union all
    select node_id, node_rank, source_name, 'company_name+city', {{ dbt.concat(["company_name_norm", "'|'", "city_norm"]) }}, 'company_name'
    from nodes where company_name_norm is not null and city_norm is not null
    union all
    select node_id, node_rank, source_name, 'name+company', {{ dbt.concat(["person_name_norm", "'|'", "company_name_norm"]) }}, 'person_name'
    from nodes where person_name_norm is not null and company_name_norm is not null
    union all
    select node_id, node_rank, source_name, 'name+city', {{ dbt.concat(["person_name_norm", "'|'", "city_norm"]) }}, 'person_name'
    from nodes where party_type = 'consumer' and person_name_norm is not null and city_norm is not null
),

ambiguous_keys as (
    -- a weak key carried by two records of the same source entity names no one in particular
    select rule, match_key
    from keys
    where rule in ('company_name+city', 'name+company', 'name+city')
    group by rule, match_key
    having count(*) > count(distinct source_name)
),

usable_keys as (
    select k.*
    from keys as k
    left join ambiguous_keys as a on a.rule = k.rule and a.match_key = k.match_key
    where a.rule is null
),

hubs as (
    select rule, match_key, min(node_rank) as hub_rank
    from usable_keys
    group by rule, match_key
),

hub_nodes as (
    select h.rule, h.match_key, k.node_id as hub_node_id, k.key_source as hub_key_source
    from hubs as h
    inner join usable_keys as k
        on k.rule = h.rule and k.match_key = h.match_key and k.node_rank = h.hub_rank
),

links as (
    select
        k.node_id as node_id_a,
        h.hub_node_id as node_id_b,
        case
            when k.rule <> 'domain' then k.rule
            when k.key_source = 'website' or h.hub_key_source = 'website' then 'website_domain'
            else 'email_domain'
        end as match_reason,
        k.match_key
    from usable_keys as k
    inner join hub_nodes as h on h.rule = k.rule and h.match_key = k.match_key
    where k.node_id <> h.hub_node_id
)

-- a node with both an e-mail and a website domain equal to the hub's gives one row per reason
select distinct node_id_a, node_id_b, match_reason, match_key
from links
