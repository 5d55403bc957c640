{#-
    Customer-scoped incremental marts: a night rebuilds every row of the customers whose
    inputs changed since the mart's last run and leaves the other customers' rows alone.
    A mart of this kind is materialized incremental (delete+insert on customer_id), carries
    `source_night` (the core fact's, see core_loaded_since_last_run: its maximum is the
    mart's watermark) and has the pre-hook mart_forget_changed_customers, which also drops
    customers that have no row any more (a key retired by a merge, a split that moved every
    event of a key elsewhere).

    A customer changed when:
    - a row of one of the mart's facts was loaded since the last run (its source_night), or
    - one of its source ids changed key (int_identity__key_assignments, both the new and the
      previous key: a merge or split moves fact rows between customers without a new load), or
    - an employee named on one of its rows has a new version (stg_erp__employees), when the
      mart shows employee attributes.
-#}

{#- Whether this run adds to an existing mart that already carries the watermark column. -#}
{% macro mart_customers_is_incremental() -%}
    {%- if not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {#- a mart built before it was incremental has no source_night: rebuilt whole once -#}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{- return('source_night' in columns) -}}
{%- endmacro %}

{#-
    Customer ids (as `customer_id`) changed since the mart's last run. `facts`: core facts
    with customer_key and source_night; `employee_facts`: [fact, employee id column] pairs
    whose rows show the employee's current attributes.
-#}
{% macro mart_changed_customers(facts, employee_facts=[]) -%}
    {%- for fact in facts %}
    select customer_key as customer_id from {{ ref(fact) }}
    where {{ core_loaded_since_last_run('source_night') }}
    union
    {%- endfor %}
    select customer_key from {{ ref('int_identity__key_assignments') }}
    where {{ core_loaded_since_last_run('assigned_night') }}
    union
    select previous_customer_key from {{ ref('int_identity__key_assignments') }}
    where {{ core_loaded_since_last_run('assigned_night') }} and previous_customer_key is not null
    {%- for pair in employee_facts %}
    union
    select customer_key from {{ ref(pair[0]) }}
    where {{ pair[1] }} in (
        select employee_id from {{ ref('stg_erp__employees') }} where {{ core_loaded_since_last_run() }}
    )
    {%- endfor %}
{%- endmacro %}

{#- `where <customer column> in (changed customers)` on an incremental run; nothing on a full build. -#}
{% macro mart_changed_customers_filter(column, facts, employee_facts=[]) -%}
    {#- the refs outside the branch, so dbt sees the dependencies at parse time #}
    -- depends_on: {{ ref('int_identity__key_assignments') }}
    -- depends_on: {{ ref('stg_erp__employees') }}
    {%- if mart_customers_is_incremental() %}
    where {{ column }} in ({{ mart_changed_customers(facts, employee_facts) | indent(4) }}
    )
    {%- endif -%}
{%- endmacro %}

{#-
    The mart's pre-hook (a string for config(pre_hook=...): hooks are rendered when they run,
    without the model file's own variables, so the lists go in as literals).
-#}
{% macro mart_forget_changed_customers_hook(facts, employee_facts=[]) -%}
    {{- return("{{ mart_forget_changed_customers(" ~ (facts | tojson) ~ ", " ~ (employee_facts | tojson) ~ ") }}") -}}
{%- endmacro %}

{#-
    Pre-hook: delete the rows of every changed customer before the run inserts their rows
    again; a customer with no row left (merged away) stays deleted.
-#}
{% macro mart_forget_changed_customers(facts, employee_facts=[]) -%}
    {%- if mart_customers_is_incremental() -%}
    delete from {{ this }}
    where customer_id in ({{ mart_changed_customers(facts, employee_facts) }}
    )
    {%- endif -%}
{%- endmacro %}
