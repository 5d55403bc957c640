"""The figures at the top of the report: customers, revenue, margin, nights, last published night."""

from __future__ import annotations

from crmwh.report.charts import latest_value_date
from crmwh.report.warehouse import Warehouse


def summary_rows(wh: Warehouse) -> list[tuple[str, str]]:
    """(label, value) pairs; a figure whose table is missing says so instead of showing 0."""
    rows: list[tuple[str, str]] = []
    as_of = latest_value_date(wh)
    if as_of is not None and wh.has("marts.customer_value", ["revenue_to_date", "margin_to_date"]):
        n, revenue, margin = wh.rows(
            "select count(*), sum(revenue_to_date), sum(margin_to_date) from marts.customer_value "
            "where as_of_date = ?", [as_of])[0]
        rows += [("Customers with purchases", f"{n:,}"),
                 ("Revenue to date (EUR)", f"{revenue or 0:,.0f}"),
                 ("Margin to date (EUR)", f"{margin or 0:,.0f}"
                                          + (f" ({100 * margin / revenue:.1f}% of revenue)" if revenue else "")),
                 ("Customer values as of", str(as_of))]
    elif wh.has("core.fct_orders", ["revenue", "margin", "is_cancelled", "customer_key"]):
        n, revenue, margin = wh.rows(
            "select count(distinct customer_key), sum(revenue), sum(margin) from core.fct_orders "
            "where not coalesce(is_cancelled, false)")[0]
        rows += [("Customers with orders", f"{n:,}"), ("Revenue (order currency)", f"{revenue or 0:,.0f}"),
                 ("Margin (order currency)", f"{margin or 0:,.0f}")]
    else:
        rows.append(("Customers, revenue, margin", "no data yet (no marts.customer_value or core.fct_orders)"))
    if wh.has("core.dim_customer", ["is_unknown"]):
        rows.append(("Customers resolved (all parties)",
                     f"{wh.scalar('select count(*) from core.dim_customer where not is_unknown'):,}"))
    if wh.has("audit.nights", ["logical_date", "published", "finished_at"]):
        nights, last, finished = wh.rows(
            "select count(distinct logical_date), max(logical_date), max(finished_at) "
            "from audit.nights where published")[0]
        rows += [("Nights published", f"{nights:,}"),
                 ("Last published night", f"{last} (finished {finished:%Y-%m-%d %H:%M} UTC)" if last and finished
                  else str(last or "none"))]
    else:
        rows.append(("Nights published", "no data yet (no audit.nights)"))
    return rows
