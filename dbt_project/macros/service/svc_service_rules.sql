{#-
    Service and management marts (issue 5): the as-of day, the business calendar and the
    SLA targets, all dbt vars with their defaults here (override with --vars).

    Business calendar (var service_business_hours): Monday-Friday, 09:00-17:00 UTC, minus the
    dates in var service_holidays (default none). SLA targets are business hours by ticket
    priority (vars service_sla_first_response_hours, service_sla_resolution_hours); an inbound
    contact that asks for an answer must get one within var service_sla_inbound_response_hours
    business hours; a field visit must be on site within var service_field_visit_sla_hours
    calendar hours of its request.
-#}

{#- The as-of day: var as_of_date, else the latest load night of core.fct_tickets. -#}
{% macro svc_as_of_date() -%}
    {{ crmwh_as_of_date_or("(select max(source_night) from " ~ ref('fct_tickets') ~ ")") }}
{%- endmacro %}

{#- End of the as-of day (UTC): the clock of anything still running stops here. -#}
{% macro svc_as_of_ts() -%}
    cast({{ dbt.dateadd('day', 1, 'cast(' ~ svc_as_of_date() ~ ' as timestamp)') }} as timestamp)
{%- endmacro %}

{% macro svc_business_hours() -%}
    {{- return(var('service_business_hours', {'start_hour': 9, 'end_hour': 17})) -}}
{%- endmacro %}

{% macro svc_holidays() -%}
    {{- return(var('service_holidays', [])) -}}
{%- endmacro %}

{% macro svc_sla_first_response_hours() -%}
    {{- return(var('service_sla_first_response_hours', {'urgent': 1, 'high': 4, 'normal': 8, 'low': 16})) -}}
{%- endmacro %}

{% macro svc_sla_resolution_hours() -%}
    {{- return(var('service_sla_resolution_hours', {'urgent': 8, 'high': 24, 'normal': 40, 'low': 80})) -}}
{%- endmacro %}

{#- SLA target in business minutes for a priority expression; unknown priorities get the 'normal' target. -#}
{% macro svc_sla_target_minutes(targets, priority_expr) -%}
    case {{ priority_expr }}
    {%- for priority, hours in targets.items() %}
        when '{{ priority }}' then {{ (hours | float) * 60 }}
    {%- endfor %}
        else {{ (targets.get('normal', 8) | float) * 60 }}
    end
{%- endmacro %}

{#- Inbound contacts asking for an answer: SLA in business hours (default 8 = one business day). -#}
{% macro svc_sla_inbound_response_minutes() -%}
    {{ (var('service_sla_inbound_response_hours', 8) | float) * 60 }}
{%- endmacro %}

{#- Field visits: on site within this many calendar hours of the request (default 72). -#}
{% macro svc_field_visit_sla_hours() -%}
    {{ var('service_field_visit_sla_hours', 72) | float }}
{%- endmacro %}

{#-
    Day of the process change compared before/after (Q23): var service_process_change_date,
    else 180 days before the first load night (the day the demo simulator's "case manager"
    reform starts; set the var to your own change day).
-#}
{% macro svc_process_change_date() -%}
    {%- set day = var('service_process_change_date', none) -%}
    {%- if day is not none and (day | string | trim) != '' -%}
        cast('{{ day | string | trim }}' as date)
    {%- else -%}
        cast({{ dbt.dateadd('day', -180, '(select min(source_night) from ' ~ ref('fct_tickets') ~ ')') }} as date)
    {%- endif -%}
{%- endmacro %}
