-- depends_on: {{ ref('int_identity__changed_match_keys') }}
{{ mart_incremental_config('int_identity__changed_match_keys', 'match_key') }}
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
    The members of an ambiguous key are kept as rows without a hub (node_id_b null): they
    link nothing (int_identity__links leaves them out), and they tell a later night which
    keys a changed record carried.

    Incremental by match key (the list pattern of macros/marts/customer_incremental.sql): a
    night rebuilds, whole, the keys in int_identity__changed_match_keys, the keys its new and
    changed records carry now and carried before (their rows here). A key's hub can only
    change when one of its records changed: the others keep their order of rank.
    source_night, the latest night of the key's records, is the watermark.
-#}
with nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

keys as (
    {{ identity_match_keys('nodes') | indent(4) }}
),

scoped_keys as (
    select * from keys
    {%- if mart_is_incremental() %}
    where match_key in (select match_key from {{ ref('int_identity__changed_match_keys') }} where match_key is not null)
    {%- endif %}
),

key_hubs as (
    select
        rule,
        match_key,
        min(node_rank) as hub_rank,
        max(night) as source_night,
        -- a weak key carried by two records of the same source entity names no one in particular
        rule in ('company_name+city', 'name+company', 'name+city') and count(*) > count(distinct source_name) as is_ambiguous
    from scoped_keys
    group by rule, match_key
),

hub_nodes as (
    select h.rule, h.match_key, h.source_night, k.node_id as hub_node_id, k.key_source as hub_key_source
    from key_hubs as h
    inner join scoped_keys as k
        on k.rule = h.rule and k.match_key = h.match_key and k.node_rank = h.hub_rank
    where not h.is_ambiguous
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
        k.match_key,
        h.source_night
    from scoped_keys as k
    inner join hub_nodes as h on h.rule = k.rule and h.match_key = k.match_key
    where k.node_id <> h.hub_node_id
),

ambiguous_members as (
    select
        k.node_id as node_id_a,
        cast(null as {{ dbt.type_string() }}) as node_id_b,
        k.rule as match_reason,
        k.match_key,
        h.source_night
    from scoped_keys as k
    inner join key_hubs as h on h.rule = k.rule and h.match_key = k.match_key
    where h.is_ambiguous
)

-- union drops duplicates: a node with both an e-mail and a website domain equal to the hub's
-- gives one row per reason
select node_id_a, node_id_b, match_reason, match_key, source_night
from links
union
select node_id_a, node_id_b, match_reason, match_key, source_night
from ambiguous_members
