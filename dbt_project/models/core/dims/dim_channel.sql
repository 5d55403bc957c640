{#-
    Contact and sales channels: the documented codes plus every code the sources use,
    conformed (trimmed, lower case); unknown member. Call-center calls are channel `call_center`.
-#}
with documented as (
    select channel_code, channel_group, is_documented from (
        values
            ('call_center', 'voice', true), ('phone', 'voice', true), ('web', 'digital', true),
            ('email', 'digital', true), ('fax', 'paper', true), ('letter', 'paper', true),
            ('mail', 'paper', true), ('sms', 'digital', true), ('visit', 'in_person', true),
            ('in_person', 'in_person', true), ('direct', 'sales', true), ('partner', 'sales', true)
    ) as v (channel_code, channel_group, is_documented)
),

used as (
    {{ core_referenced_ids([
        ['stg_crm__interactions', 'channel'],
        ['stg_crm__campaign_members', 'channel'],
        ['stg_crm__consents', 'channel'],
        ['stg_helpdesk__tickets', 'channel'],
        ['stg_erp__orders', 'sales_channel'],
    ], code=true) }}
),

members as (
    select channel_code, channel_group, is_documented, false as is_unknown from documented

    union all

    select u.natural_id, 'other', false, false
    from used as u
    where not exists (select 1 from documented as d where d.channel_code = u.natural_id)

    union all

    select null, 'unknown', false, true
),

final as (
    select {{ core_key(['channel_code']) }} as channel_key, *
    from members
)

select {{ core_contract_select('final') }}
from final
