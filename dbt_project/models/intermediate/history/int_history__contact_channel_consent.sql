{#-
    The current consent per contact and channel: the latest event by effective_at
    (then consent_id), with effective_at as the version time the snapshot
    snp_crm__contact_channel_consent tracks. A late event older than the current one
    changes nothing here, as it should.
-#}
select
    contact_id,
    {{ core_code('channel') }} as channel_code,
    status as consent_status,
    source as consent_source,
    consent_id,
    effective_at,
    _night
from (
    select
        *,
        row_number() over (
            partition by contact_id, {{ core_code('channel') }}
            order by effective_at desc, consent_id desc
        ) as recency
    from {{ ref('stg_crm__consents') }}
    where effective_at is not null and channel is not null
) as ranked
where recency = 1
