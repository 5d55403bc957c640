{#-
    Raw rows the staging layer could not accept, one row per failing field:
    a required field missing or empty (REQUIRED_MISSING), or a non-empty value
    that does not cast to the contract type (CAST_FAILED). Rebuilt from all of
    raw on every run, so a contract fix re-admits rows on the next build.
-#}
{%- for staged in crmwh_staged_sources() %}
{{ crmwh_rejects_select(staged.source, staged.table, staged.model) }}
{{ 'union all' if not loop.last }}
{%- endfor %}
