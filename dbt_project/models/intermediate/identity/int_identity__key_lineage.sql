{#-
    Every customer_key ever issued and the key it lives on as: itself while current,
    the surviving key after its component merged into an older one. Facts stored with
    a retired key are re-keyed by joining here (customer_key -> current_customer_key).
-#}
select
    k.customer_key,
    k.founder_node_id,
    k.issued_at,
    coalesce(ck.customer_key, {{ core_unknown_key() }}) as current_customer_key,
    coalesce(ck.customer_key, {{ core_unknown_key() }}) <> k.customer_key as is_retired
from {{ ref('int_identity__customer_keys') }} as k
left join {{ ref('int_identity__component_keys') }} as ck on ck.node_id = k.founder_node_id
