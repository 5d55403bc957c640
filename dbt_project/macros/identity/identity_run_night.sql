{#-
    The night an identity model's run stands for: the night being built (var as_of_date), else
    the latest load night of the identity records. Rows an identity model (re)computes carry it
    (assigned_night, resolved_night), so the models after it select what changed since their
    own last run (core_loaded_since_last_run).
-#}
{% macro identity_run_night() -%}
    cast({{ crmwh_as_of_date_or("(select max(night) from " ~ ref('int_identity__nodes') ~ ")") }} as date)
{%- endmacro %}

