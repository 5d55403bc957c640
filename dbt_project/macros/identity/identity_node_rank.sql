{#-
    node_rank of int_identity__nodes: customer records before touchpoints, then earliest
    first_seen_at, then node_id. Touchpoints count from 10^12 instead of on from the last
    customer record, so a night's new customer records do not move the
    rank of every touchpoint (millions of rows to rewrite in the incremental post-hook);
    ranks are compared, never counted, so the gap changes no result.
-#}
{% macro identity_node_rank() -%}
    row_number() over (partition by record_role order by first_seen_at nulls last, node_id)
        + case record_role when 'customer_record' then 0 else 1000000000000 end
{%- endmacro %}


{#-
    Post-hook of the incremental int_identity__nodes: new and changed records come in
    unranked; rank all rows again and rewrite those whose rank moved (the new ones, and
    the rows after a record that arrived late or changed its first_seen_at). Nothing to
    do (empty hook) when every row has its rank.
-#}
{% macro identity_rank_new_nodes() -%}
    {%- if execute -%}
        {%- set unranked = run_query('select count(*) from ' ~ this ~ ' where node_rank is null').columns[0].values()[0] -%}
        {%- if unranked > 0 %}
    update {{ this }} as n
    set node_rank = ranked.node_rank
    from (select node_id, {{ identity_node_rank() }} as node_rank from {{ this }}) as ranked
    where ranked.node_id = n.node_id and (n.node_rank is null or n.node_rank <> ranked.node_rank)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
