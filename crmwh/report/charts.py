"""The report's charts: one function per chart, each a plotly figure or a short note.

Why notes and not errors: a warehouse built from a single bring-your-own orders file
has no leads, tickets or campaigns; the report must still render what it can. Every
chart first checks that the relations and columns it reads exist (``Warehouse.missing``)
and that they hold rows, and otherwise says "no data yet for ...".
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import plotly.graph_objects as go

from crmwh.report.warehouse import Warehouse

VALUE_GROUP_COLOURS = {"loyal": "#2ca02c", "repeat": "#1f77b4", "prospective": "#ff7f0e", "ordinary": "#9e9e9e"}
FUNNEL_STAGES = ["leads", "qualified", "converted", "opportunity", "won"]
SCATTER_SAMPLE = 3000  # points drawn in the value matrix (counts use every customer)
RECENT_MONTHS = 24
RECENT_WEEKS = 52
SUBTITLE_WIDTH = 95  # characters per subtitle line (a chart is half the page wide)
DEFAULT_SLA_HOURS = 24.0  # first-response target for tickets of requesters without a service contract


@dataclass
class Chart:
    key: str
    title: str
    question: str
    figure: go.Figure | None = None
    note: str | None = None


def _no_data(key: str, title: str, question: str, what: str) -> Chart:
    return Chart(key, title, question, note=f"no data yet for {what}")


def _layout(fig: go.Figure, title: str, subtitle: str | None = None, height: int = 460) -> go.Figure:
    lines = textwrap.wrap(subtitle, SUBTITLE_WIDTH) if subtitle else []
    fig.update_layout(
        title={"text": title, **({"subtitle": {"text": "<br>".join(lines)}} if lines else {})},
        height=height + 14 * len(lines), margin={"l": 60, "r": 20, "t": 62 + 16 * len(lines), "b": 50},
        template="plotly_white", legend={"orientation": "h", "y": -0.18},
    )
    return fig


def latest_value_date(wh: Warehouse) -> date | None:
    if not wh.has("marts.customer_value", ["as_of_date"]):
        return None
    return wh.scalar("select max(as_of_date) from marts.customer_value")


def value_matrix(wh: Warehouse) -> Chart:
    key, title = "value_matrix", "Value matrix: current vs potential value"
    question = "Which customers are loyal, repeat, prospective or ordinary (DOMAIN section 3)?"
    needs = {"marts.customer_value": ["customer_id", "as_of_date", "current_value", "potential_value", "value_group",
                                      "current_value_threshold", "potential_value_threshold"]}
    as_of = latest_value_date(wh)
    if wh.missing(needs) or as_of is None:
        return _no_data(key, title, question, "customer value (marts.customer_value)")
    counts = dict(wh.rows("select value_group, count(*) from marts.customer_value where as_of_date = ? group by 1",
                          [as_of]))
    points = wh.rows(
        """select customer_id, current_value, potential_value, value_group
           from marts.customer_value where as_of_date = ?
           order by hash(customer_id) limit ?""", [as_of, SCATTER_SAMPLE])
    current_cut, potential_cut = wh.rows(
        "select max(current_value_threshold), max(potential_value_threshold) from marts.customer_value "
        "where as_of_date = ?", [as_of])[0]
    fig = go.Figure()
    for group, colour in VALUE_GROUP_COLOURS.items():
        mine = [p for p in points if p[3] == group]
        fig.add_trace(go.Scatter(
            x=[p[1] for p in mine], y=[p[2] for p in mine], mode="markers", name=f"{group} ({counts.get(group, 0):,})",
            marker={"color": colour, "size": 6, "opacity": 0.7}, text=[p[0] for p in mine],
            hovertemplate="%{text}<br>current %{x:,.0f} EUR<br>potential %{y:,.0f} EUR<extra>" + group + "</extra>"))
    if current_cut is not None:
        fig.add_vline(x=current_cut, line_dash="dash", line_color="#555")
    if potential_cut is not None:
        fig.add_hline(y=potential_cut, line_dash="dash", line_color="#555")
    shown = f"{len(points):,} of {sum(counts.values()):,} customers shown" if len(points) < sum(counts.values()) else \
        f"{len(points):,} customers"
    _layout(fig, title, f"as of {as_of}; dashed lines: thresholds (median among active customers); {shown}")
    fig.update_xaxes(title="current value (EUR, next 52 weeks)")
    fig.update_yaxes(title="potential value (EUR)")
    return Chart(key, title, question, fig)


def rfm_grid(wh: Warehouse) -> Chart:
    key, title = "rfm_grid", "RFM grid: customers by recency and frequency score"
    question = "How many customers are recent and frequent buyers, and how many are slipping away?"
    needs = {"marts.customer_value": ["as_of_date", "r_score", "f_score"]}
    as_of = latest_value_date(wh)
    if wh.missing(needs) or as_of is None:
        return _no_data(key, title, question, "RFM scores (marts.customer_value)")
    cells = {(r, f): n for r, f, n in wh.rows(
        "select r_score, f_score, count(*) from marts.customer_value where as_of_date = ? "
        "and r_score is not null and f_score is not null group by 1, 2", [as_of])}
    if not cells:
        return _no_data(key, title, question, "RFM scores (marts.customer_value)")
    scores = [1, 2, 3, 4, 5]
    z = [[cells.get((r, f), 0) for f in scores] for r in scores]
    fig = go.Figure(go.Heatmap(z=z, x=[f"F{f}" for f in scores], y=[f"R{r}" for r in scores], colorscale="Blues",
                               texttemplate="%{z}", hovertemplate="%{y} %{x}: %{z} customers<extra></extra>"))
    _layout(fig, title, f"as of {as_of}; scores are quintiles, 5 = most recent / most frequent")
    fig.update_xaxes(title="frequency score")
    fig.update_yaxes(title="recency score")
    return Chart(key, title, question, fig)


def lead_funnel(wh: Warehouse) -> Chart:
    key, title = "lead_funnel", "Lead funnel by lead source"
    question = "Which lead sources (web, trade shows, brochures, ...) turn into won business (Q1, Q5)?"
    needs = {"core.fct_lead_conversions": ["lead_id", "lead_source", "lead_status", "is_converted",
                                           "converted_opportunity_id"],
             "core.fct_opportunity_stage_changes": ["opportunity_id", "is_won"]}
    if wh.missing(needs):
        return _no_data(key, title, question, "leads (core.fct_lead_conversions)")
    rows = wh.rows(
        """with won as (
               select distinct opportunity_id from core.fct_opportunity_stage_changes where is_won)
           select coalesce(l.lead_source, 'unknown'),
                  count(*),
                  count(*) filter (where l.lead_status in ('qualified', 'converted') or l.is_converted),
                  count(*) filter (where l.is_converted),
                  count(*) filter (where l.converted_opportunity_id is not null),
                  count(won.opportunity_id)
           from core.fct_lead_conversions as l
           left join won on won.opportunity_id = l.converted_opportunity_id
           group by 1 order by 2 desc, 1""")
    if not rows:
        return _no_data(key, title, question, "leads (core.fct_lead_conversions)")
    fig = go.Figure()
    for source, *counts in rows:
        leads, won = counts[0], counts[-1]
        fig.add_trace(go.Funnel(name=f"{source}: {won}/{leads} won ({100 * won / leads:.0f}%)", y=FUNNEL_STAGES,
                                x=counts, textinfo="value", hovertemplate=source + " %{y}: %{x}<extra></extra>"))
    fig.update_layout(funnelmode="stack")
    _layout(fig, title, "each band is one lead source; qualified = qualified or converted; opportunity = the "
                        "conversion created one; won = that opportunity reached closed_won", height=540)
    return Chart(key, title, question, fig)


def cohort_retention(wh: Warehouse) -> Chart:
    key, title = "cohort_retention", "Cohort retention"
    question = "Of the customers who first bought in a month, what share buys again in later months?"
    needs = {"marts.cohort_retention": ["as_of_date", "cohort_month", "months_since_first_purchase",
                                        "retention_rate"]}
    if wh.missing(needs):
        return _no_data(key, title, question, "cohort retention (marts.cohort_retention)")
    as_of = wh.scalar("select max(as_of_date) from marts.cohort_retention")
    rows = wh.rows(
        """select cohort_month, months_since_first_purchase, retention_rate
           from marts.cohort_retention
           where as_of_date = ? and months_since_first_purchase between 0 and ?
             and cohort_month >= (select max(cohort_month) from marts.cohort_retention where as_of_date = ?)
                                 - to_months(?)
           order by 1, 2""", [as_of, RECENT_MONTHS, as_of, RECENT_MONTHS - 1])
    if not rows:
        return _no_data(key, title, question, "cohort retention (marts.cohort_retention)")
    cohorts = sorted({r[0] for r in rows})
    months = list(range(0, max(r[1] for r in rows) + 1))
    cell = {(r[0], r[1]): r[2] for r in rows}
    z = [[(cell[(c, m)] * 100 if cell.get((c, m)) is not None else None) for m in months] for c in cohorts]
    later = [v for row in z for v in row[1:] if v is not None]  # month 0 is 100% by definition: keep it off the scale
    fig = go.Figure(go.Heatmap(
        z=z, x=months, y=[c.strftime("%Y-%m") for c in cohorts], colorscale="YlGnBu", zmin=0,
        zmax=max(later) if later and max(later) > 0 else 100,
        colorbar={"title": "%"}, hovertemplate="cohort %{y}, month %{x}: %{z:.1f}%<extra></extra>"))
    _layout(fig, title, f"as of {as_of}; share of each first-purchase cohort buying in month n after its first "
                        f"purchase; last {RECENT_MONTHS} cohorts", height=520)
    fig.update_xaxes(title="months since first purchase", dtick=1)
    fig.update_yaxes(title="first-purchase month", autorange="reversed", type="category")
    return Chart(key, title, question, fig)


def _report_as_of(wh: Warehouse) -> datetime | None:
    """End of the last published night: tickets younger than their SLA then are still pending."""
    if wh.has("audit.nights", ["logical_date", "published"]):
        night = wh.scalar("select max(logical_date) from audit.nights where published")
        if night is not None:
            return datetime.combine(night + timedelta(days=1), datetime.min.time())
    return None


def sla_trend(wh: Warehouse) -> Chart:
    key, title = "sla_trend", "First-response SLA attainment per week"
    question = "Do customers get a first answer within the promised time (Q14, Q23)?"
    needs = {"core.fct_tickets": ["ticket_id", "requester_id", "created_at", "minutes_to_first_response"]}
    if wh.missing(needs):
        return _no_data(key, title, question, "tickets (core.fct_tickets)")
    contracts = "staging.stg_helpdesk__service_contracts"
    has_contracts = wh.has(contracts, ["requester_id", "sla_response_hours", "start_date", "end_date"])
    sla_hours = (
        f"""coalesce((select min(c.sla_response_hours) from {contracts} as c
                      where c.requester_id = t.requester_id and c.sla_response_hours is not null
                        and cast(t.created_at as date) between c.start_date and coalesce(c.end_date, date '9999-12-31')),
                     {DEFAULT_SLA_HOURS})"""
        if has_contracts else str(DEFAULT_SLA_HOURS))
    as_of = _report_as_of(wh) or wh.scalar("select max(created_at) from core.fct_tickets")
    if as_of is None:
        return _no_data(key, title, question, "tickets (core.fct_tickets)")
    rows = wh.rows(
        f"""with t as (
                select t.created_at, t.minutes_to_first_response as minutes, {sla_hours} * 60 as sla_minutes
                from core.fct_tickets as t where t.created_at is not null and t.created_at < ?),
            judged as (
                select date_trunc('week', created_at) as week,
                       case when minutes is not null then minutes <= sla_minutes
                            when date_diff('minute', created_at, ?) > sla_minutes then false
                       end as within_sla  -- null: no answer yet, SLA not yet over
                from t)
            select cast(week as date), count(within_sla), count(*) filter (where within_sla),
                   count(*) filter (where within_sla is null)
            from judged where week >= cast(? as date) - to_weeks(?)
            group by 1 order by 1""", [as_of, as_of, as_of, RECENT_WEEKS])
    rows = [r for r in rows if r[1] > 0]
    if not rows:
        return _no_data(key, title, question, "tickets (core.fct_tickets)")
    weeks = [r[0] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=weeks, y=[r[1] for r in rows], name="tickets judged", marker_color="#c7d7ea", yaxis="y2",
                         hovertemplate="week of %{x}: %{y} tickets<extra></extra>"))
    fig.add_trace(go.Scatter(x=weeks, y=[100.0 * r[2] / r[1] for r in rows], name="% first response within SLA",
                             mode="lines+markers", line={"color": "#d62728"},
                             hovertemplate="week of %{x}: %{y:.1f}%<extra></extra>"))
    rule = ("SLA = the requester's service-contract first-response hours, else " if has_contracts else "SLA = ")
    _layout(fig, title, f"{rule}{DEFAULT_SLA_HOURS:.0f} h, in calendar hours; weeks by ticket creation; "
                        f"tickets still inside their SLA are left out")
    fig.update_layout(yaxis={"title": "% within SLA", "range": [0, 105]},
                      yaxis2={"title": "tickets", "overlaying": "y", "side": "right", "showgrid": False})
    fig.data = (fig.data[1], fig.data[0])  # the line above the bars
    return Chart(key, title, question, fig)


def campaign_roi(wh: Warehouse) -> Chart:
    key, title = "campaign_roi", "Campaign cost vs attributed revenue"
    question = "Which campaigns earned back their cost (Q4)?"
    needs = {"core.dim_campaign": ["campaign_id", "campaign_name", "campaign_type", "actual_cost", "budget",
                                   "is_unknown"],
             "core.fct_opportunity_stage_changes": ["opportunity_id", "campaign_id", "amount", "is_won", "changed_at"]}
    if wh.missing(needs):
        return _no_data(key, title, question, "campaigns (core.dim_campaign)")
    rows = wh.rows(
        """with won as (
               select opportunity_id, campaign_id, amount from core.fct_opportunity_stage_changes
               where is_won
               qualify row_number() over (partition by opportunity_id order by changed_at desc) = 1)
           select c.campaign_id, coalesce(c.campaign_name, c.campaign_id), coalesce(c.campaign_type, 'unknown'),
                  cast(coalesce(c.actual_cost, c.budget, 0) as double),
                  cast(coalesce(sum(won.amount), 0) as double), count(won.opportunity_id)
           from core.dim_campaign as c
           left join won on won.campaign_id = c.campaign_id
           where not c.is_unknown
           group by all order by 1""")
    if not rows:
        return _no_data(key, title, question, "campaigns (core.dim_campaign)")
    fig = go.Figure()
    for kind in sorted({r[2] for r in rows}):
        mine = [r for r in rows if r[2] == kind]
        fig.add_trace(go.Scatter(
            x=[r[3] for r in mine], y=[r[4] for r in mine], mode="markers", name=kind,
            marker={"size": [8 + min(r[5], 20) for r in mine], "opacity": 0.75},
            text=[f"{r[1]} ({r[0]}): {r[5]} won" for r in mine],
            hovertemplate="%{text}<br>cost %{x:,.0f}<br>revenue %{y:,.0f}<extra></extra>"))
    top = max(max(r[3] for r in rows), max(r[4] for r in rows), 1.0)
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="break-even (revenue = cost)",
                             line={"dash": "dash", "color": "#777"}, hoverinfo="skip"))
    paid_back = sum(1 for r in rows if r[4] >= r[3] and r[3] > 0)
    _layout(fig, title, "Attribution: single touch - a won opportunity's amount is credited to the campaign recorded "
                        f"as its source; cost = actual cost (else budget). {paid_back} of {len(rows)} campaigns "
                        "at or above break-even.", height=500)
    fig.update_xaxes(title="campaign cost")
    fig.update_yaxes(title="attributed won revenue")
    return Chart(key, title, question, fig)


def channel_mix(wh: Warehouse) -> Chart:
    key, title = "channel_mix", "Channel mix: interactions per channel and month"
    question = "On which channels do customers and staff meet, and how does it shift (Q24)?"
    needs = {"core.fct_interactions": ["channel_code", "occurred_at"]}
    if wh.missing(needs):
        return _no_data(key, title, question, "interactions (core.fct_interactions)")
    rows = wh.rows(
        """with monthly as (
               select cast(date_trunc('month', occurred_at) as date) as month, coalesce(channel_code, 'unknown') as channel,
                      count(*) as n
               from core.fct_interactions where occurred_at is not null group by 1, 2)
           select * from monthly where month > (select max(month) from monthly) - to_months(?) order by 1, 2""",
        [RECENT_MONTHS])
    if not rows:
        return _no_data(key, title, question, "interactions (core.fct_interactions)")
    totals: dict[str, int] = {}
    for _month, channel, n in rows:
        totals[channel] = totals.get(channel, 0) + n
    fig = go.Figure()
    for channel in sorted(totals, key=lambda c: -totals[c]):
        mine = [r for r in rows if r[1] == channel]
        fig.add_trace(go.Bar(x=[r[0] for r in mine], y=[r[2] for r in mine], name=channel,
                             hovertemplate="%{x|%Y-%m}: %{y} " + channel + "<extra></extra>"))
    fig.update_layout(barmode="stack")
    _layout(fig, title, f"CRM interactions and call-center calls, last {RECENT_MONTHS} months", height=500)
    fig.update_yaxes(title="interactions")
    return Chart(key, title, question, fig)


CHARTS: list[Callable[[Warehouse], Chart]] = [
    value_matrix, rfm_grid, lead_funnel, cohort_retention, sla_trend, campaign_roi, channel_mix,
]
