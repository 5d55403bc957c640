"""Helpdesk, field service and call center: tickets, their hops, visits, contracts, ratings, calls.

Signals built in: a quarter of tickets are customer mis-operation (Q10);
tickets hop across departments and agents with little touch time but long
elapsed time, and a "case manager" change halves the hops from a fixed day
(Q23); technicians differ in first-time-fix rate (Q21); some visits are never
scheduled (Q17); bad service drives customers away (Q11, the churn filter).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from crmwh.simulator.common import bool_or_null, categorical, group_rank, ids, join, make_table, money
from crmwh.simulator.names import company_name_variant, email_variant, full_name, person_name_variant, phone_variant
from crmwh.simulator.population import CATEGORIES, SERVICE_LEVEL_OF_PRODUCT, Ctx
from crmwh.simulator.sales import Purchases

HW_CATEGORIES = {"mis_operation": 0.27, "hardware_fault": 0.2, "installation": 0.1, "repair_request": 0.15, "how_to": 0.1,
                 "complaint": 0.06, "software_bug": 0.07, "billing": 0.05}
OTHER_CATEGORIES = {"mis_operation": 0.25, "software_bug": 0.15, "how_to": 0.25, "billing": 0.2, "complaint": 0.15}
TICKET_CATEGORIES = ["mis_operation", "hardware_fault", "software_bug", "installation", "repair_request", "billing", "how_to", "complaint"]
DIFFICULTY = {"hardware_fault": 0.85, "repair_request": 0.95, "installation": 1.05}
COMMENTS = {1: "Nobody came for weeks.", 2: "Passed from one department to the next.", 3: "OK in the end.",
            4: "Good help.", 5: "Fixed right away, thank you!"}


@dataclass
class Tickets:
    purchase: np.ndarray
    party: np.ndarray
    person: np.ndarray
    created: np.ndarray
    category: np.ndarray        # index into TICKET_CATEGORIES
    product: np.ndarray         # -1 if none
    hops: np.ndarray
    hop_span: np.ndarray
    needs_visit: np.ndarray
    v1_tech: np.ndarray
    v1_req: np.ndarray
    v1_sched: np.ndarray        # NaN: never scheduled (backlog)
    v1_done: np.ndarray
    v1_labour: np.ndarray
    v1_ftf: np.ndarray
    v2: np.ndarray              # second visit needed
    v2_tech: np.ndarray
    v2_sched: np.ndarray
    v2_done: np.ndarray
    v2_labour: np.ndarray
    solved: np.ndarray          # first solve (NaN: never)
    reopen: np.ndarray          # NaN: not reopened
    solved_final: np.ndarray
    rated: np.ndarray
    score: np.ndarray

    def subset(self, keep: np.ndarray) -> "Tickets":
        return Tickets(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


def case_manager_day(ctx: Ctx) -> float:
    """From this day a single case manager owns each ticket: fewer hops, shorter waits (Q23)."""
    return ctx.clock.start_day - 180.0


def draw_tickets(ctx: Ctx, pu: Purchases) -> Tickets:
    rng = ctx.rng("tickets")
    p, prod, staff = ctx.parties, ctx.products, ctx.staff
    # tickets about a purchase
    n_p = pu.party.size
    first_line = pu.line_start
    product_p = pu.line_product[first_line]
    hw = np.isin(prod.category[product_p], [CATEGORIES.index(c) for c in ("printers", "copiers", "accessories")])
    has = rng.random(n_p) < np.where(hw, 0.28, 0.1)
    t_purchase = np.flatnonzero(has)
    # general questions (billing, how-to) from customers' people
    cust = np.flatnonzero(p.is_customer)
    g_rate = 0.12 / 365
    length = np.clip(ctx.clock.span - p.first_order_day[cust], 0, None)
    g_counts = rng.poisson(g_rate * length)
    g_party = np.repeat(cust, g_counts)
    g_day = p.first_order_day[g_party] + rng.random(g_party.size) * np.repeat(length, g_counts)
    purchase = np.concatenate([t_purchase, np.full(g_party.size, -1)])
    party = np.concatenate([pu.party[t_purchase], g_party])
    created = np.concatenate([pu.day[t_purchase] + rng.exponential(25.0, t_purchase.size), g_day])
    product = np.concatenate([product_p[t_purchase], np.full(g_party.size, -1)])
    n = purchase.size
    hw_t = np.concatenate([hw[t_purchase], np.zeros(g_party.size, bool)])
    cat_hw, labels_hw = categorical(rng, n, HW_CATEGORIES)
    cat_ot, labels_ot = categorical(rng, n, OTHER_CATEGORIES)
    map_hw = np.array([TICKET_CATEGORIES.index(c) for c in labels_hw])
    map_ot = np.array([TICKET_CATEGORIES.index(c) for c in labels_ot])
    category = np.where(hw_t, map_hw[cat_hw], map_ot[cat_ot])
    person = ctx.person_of_party(rng, party, created)
    visit_cats = [TICKET_CATEGORIES.index(c) for c in DIFFICULTY]
    needs_visit = np.isin(category, visit_cats) & (rng.random(n) < 0.7)
    before = created < case_manager_day(ctx)
    hops = 1 + rng.poisson(np.where(before, 2.2, 0.5) * np.where(category == 0, 0.6, 1.0))
    hop_span = rng.gamma(hops, np.where(before, 1.4, 0.35))
    # field visits
    techs = staff.technicians
    v1_tech = rng.integers(0, techs.size, n)
    v1_req = created + hop_span * 0.5
    backlog = needs_visit & (rng.random(n) < 0.06)
    slow = rng.random(n) < 0.1
    v1_sched = np.where(backlog | ~needs_visit, np.nan, v1_req + rng.uniform(0.5, 6, n) + slow * rng.uniform(10, 30, n))
    v1_labour = np.round(rng.lognormal(np.log(80), 0.5, n), 1)
    v1_done = v1_sched + rng.uniform(0, 0.1, n) + v1_labour / 1440
    diff = np.ones(n)
    for c, d in DIFFICULTY.items():  # loop per category
        diff[category == TICKET_CATEGORIES.index(c)] = d
    v1_ftf = rng.random(n) < np.clip(ctx.staff.tech_skill[v1_tech] * diff, 0, 0.98)
    v2 = needs_visit & ~backlog & ~v1_ftf
    v2_tech = np.where(rng.random(n) < 0.5, v1_tech, rng.integers(0, techs.size, n))
    v2_sched = np.where(v2, v1_done + 0.2 + rng.uniform(1, 5, n), np.nan)
    v2_labour = np.round(rng.lognormal(np.log(60), 0.5, n), 1)
    v2_done = v2_sched + 0.05 + v2_labour / 1440
    last_visit = np.where(v2, v2_done, np.where(needs_visit, v1_done, created))
    solved = np.where(backlog, np.nan, np.maximum(created + hop_span, last_visit) + rng.uniform(0.01, 0.5, n))
    reopened = np.isfinite(solved) & (rng.random(n) < 0.04)
    reopen = np.where(reopened, solved + rng.uniform(0.5, 3, n), np.nan)
    solved_final = np.where(reopened, reopen + rng.uniform(0.5, 3, n), solved)
    elapsed = solved_final - created
    rated = np.isfinite(solved_final) & (rng.random(n) < 0.45)
    raw = (4.7 - 0.35 * (hops - 1) - 0.07 * np.nan_to_num(elapsed, nan=30) - 1.2 * v2 - 0.9 * reopened
           - 0.8 * (category == TICKET_CATEGORIES.index("complaint")) + rng.normal(0, 0.6, n))
    score = np.clip(np.round(raw), 1, 5).astype(np.int64)
    return Tickets(purchase, party, person, created, category, product, hops, hop_span, needs_visit, v1_tech, v1_req,
                   v1_sched, v1_done, v1_labour, v1_ftf, v2, v2_tech, v2_sched, v2_done, v2_labour, solved, reopen,
                   solved_final, rated, score)


def churn_filter(ctx: Ctx, pu: Purchases, tk: Tickets) -> tuple[np.ndarray, np.ndarray]:
    """Bad service experience makes many customers stop buying: (purchases kept, tickets kept)."""
    rng = ctx.rng("churn")
    elapsed = tk.solved_final - tk.created
    bad = (tk.rated & (tk.score <= 2)) | ~(elapsed <= 20)
    bad_time = np.where(np.isfinite(tk.solved_final), tk.solved_final, tk.created + 20)
    first_bad = np.full(ctx.parties.n, np.inf)
    np.minimum.at(first_bad, tk.party[bad], bad_time[bad])
    leaves = rng.random(ctx.parties.n) < 0.65
    keep_p = ~((pu.day > first_bad[pu.party]) & leaves[pu.party])
    keep_t = (tk.purchase < 0) | keep_p[np.maximum(tk.purchase, 0)]
    # general tickets of customers who left stop too
    keep_t &= ~((tk.purchase < 0) & (tk.created > first_bad[tk.party] + 30) & leaves[tk.party])
    return keep_p, keep_t


def build_service(ctx: Ctx, tk: Tickets, pu: Purchases, order_num: np.ndarray, new_purchase_index: np.ndarray) -> dict[str, pa.Table]:
    rng = ctx.rng("service_tables")
    p, per, staff, prod = ctx.parties, ctx.persons, ctx.staff, ctx.products
    n = tk.party.size
    # --- service contracts: every maintenance contract bought ---
    contract_products = [i for i, name in enumerate(prod.name) if name in SERVICE_LEVEL_OF_PRODUCT]
    c_line = np.flatnonzero(np.isin(pu.line_product, contract_products))
    c_order = pu.line_order[c_line]
    c_party = pu.party[c_order]
    c_person = p.first_person[c_party]
    c_start = np.floor(pu.day[c_order]) + 1
    # --- requesters: people with tickets or contracts; a few got a second login ---
    r_person_all = np.concatenate([tk.person, c_person])
    r_time_all = np.concatenate([tk.created, c_start])
    order_r = np.lexsort((r_time_all, r_person_all))
    uniq_person, first_pos = np.unique(r_person_all[order_r], return_index=True)
    r_created = r_time_all[order_r][first_pos] - rng.uniform(0.001, 0.05, uniq_person.size)
    second = rng.random(uniq_person.size) < 0.04
    sec_created = r_created + rng.uniform(20, 300, uniq_person.size)
    req_num = np.arange(1, uniq_person.size + 1)
    pos_t = np.searchsorted(uniq_person, tk.person)
    use_second = second[pos_t] & (tk.created > sec_created[pos_t]) & (rng.random(n) < 0.6)
    ticket_req_num = np.where(use_second, 7_000_000 + req_num[pos_t], req_num[pos_t])
    rp = np.concatenate([uniq_person, uniq_person[second]])
    rnum = np.concatenate([req_num, 7_000_000 + req_num[second]])
    rc = np.concatenate([r_created, sec_created[second]])
    first, last, _ = person_name_variant(rng, per.first[rp], per.last[rp], {"exact": 0.5, "nickname": 0.2, "ascii": 0.15, "typo": 0.1, "swapped": 0.05})
    rparty = per.party[rp]
    org = company_name_variant(rng, p.word_a[rparty], p.word_b[rparty], p.suffix_row[rparty],
                               {"exact": 0.3, "suffix": 0.2, "upper": 0.1, "typo": 0.15, "ascii": 0.1, "no_suffix": 0.15})
    requesters = make_table({
        "requester_id": ids("U", rnum, 7), "full_name": full_name(first, last, rng, 0.15),
        "email": email_variant(rng, per.email.take(pa.array(rp)), 0.05, 0.4),
        "phone": phone_variant(rng, per.calling.take(pa.array(rp)), per.phone_area.take(pa.array(rp)), per.phone_sub.take(pa.array(rp)),
                               {"e164": 0.3, "intl_spaced": 0.3, "national_paren": 0.2, "national_dash": 0.2}),
        "organization": pa.array(np.where(p.is_business[rparty], np.asarray(org, dtype=object), None), pa.string()),
        "created_at": rc, "updated_at": rc,
    }, rnum, rc, party=rparty, person=rp)
    c_req = req_num[np.searchsorted(uniq_person, c_person)]
    level = np.array([SERVICE_LEVEL_OF_PRODUCT[prod.name[i]] for i in pu.line_product[c_line]], dtype=object) if c_line.size else np.zeros(0, object)
    sla = np.select([level == "basic", level == "standard"], [48.0, 24.0], 8.0) if c_line.size else np.zeros(0)
    covered = np.concatenate(prod.by_category[:2])[rng.integers(0, sum(x.size for x in prod.by_category[:2]), c_line.size)]
    cnum = np.arange(1, c_line.size + 1)
    c_t = c_start - 0.5
    contracts = make_table({
        "contract_id": ids("SC", cnum, 7), "requester_id": ids("U", c_req, 7), "product_id": prod.product_id.take(pa.array(covered)),
        "service_level": level, "sla_response_hours": sla, "annual_fee": money(prod.list_price[pu.line_product[c_line]] * pu.line_qty[c_line]),
        "currency": np.full(c_line.size, "EUR", dtype=object), "start_date": c_start, "end_date": c_start + 365, "updated_at": c_t,
    }, cnum, c_t)

    # --- ticket events: created, one assignment per hop (+ replies), solve, reopen, close ---
    tnum = np.arange(1, n + 1)
    order_of_ticket = np.where(tk.purchase >= 0, order_num[np.maximum(new_purchase_index, 0)], -1)
    h_t = np.repeat(np.arange(n), tk.hops)
    k = group_rank(h_t)
    frac = (k + rng.uniform(0.2, 1.0, h_t.size)) / (tk.hops[h_t] + 0.2)
    hop_time = tk.created[h_t] + 0.002 + frac * tk.hop_span[h_t]
    depts = np.array(["service_l2", "engineering", "billing"], dtype=object)
    later_dept = depts[rng.choice(3, h_t.size, p=[0.5, 0.35, 0.15])]
    later_dept = np.where(tk.needs_visit[h_t] & (rng.random(h_t.size) < 0.5), "field_service", later_dept)
    hop_dept = np.where(k == 0, "service", later_dept).astype(object)
    agent = _agent_of(rng, ctx, hop_dept)
    hop_status = np.where(k == 0, "open", np.where(rng.random(h_t.size) < 0.3, "pending", "open")).astype(object)
    touch = np.round(rng.lognormal(np.log(6), 0.6, h_t.size), 1)
    reply = rng.random(h_t.size) < 0.5
    rp_i = np.flatnonzero(reply)
    solved_i = np.flatnonzero(np.isfinite(tk.solved))
    reo_i = np.flatnonzero(np.isfinite(tk.reopen))
    closed_i = np.flatnonzero(np.isfinite(tk.solved_final))
    parts = [
        # (ticket, time, type, to_status, dept, agent, touch)
        (np.arange(n), tk.created, "created", "new", np.full(n, "service", dtype=object), np.full(n, -1), np.round(rng.uniform(1, 4, n), 1)),
        (h_t, hop_time, "assignment", hop_status, hop_dept, agent, touch),
        (h_t[rp_i], hop_time[rp_i] + 0.001, "public_reply", None, hop_dept[rp_i], agent[rp_i], np.round(rng.lognormal(np.log(4), 0.5, rp_i.size), 1)),
        (solved_i, tk.solved[solved_i], "status_change", "solved", None, None, np.full(solved_i.size, 2.0)),
        (reo_i, tk.reopen[reo_i], "reopen", "open", None, None, np.full(reo_i.size, 3.0)),
        (reo_i, tk.solved_final[reo_i], "status_change", "solved", None, None, np.full(reo_i.size, 5.0)),
        (closed_i, tk.solved_final[closed_i] + 3.0, "status_change", "closed", None, None, np.zeros(closed_i.size)),
    ]
    e_ticket = np.concatenate([x[0] for x in parts])
    e_time = np.concatenate([x[1] for x in parts])
    e_type = np.concatenate([np.full(x[0].size, x[2], dtype=object) for x in parts])
    e_to = np.concatenate([np.full(x[0].size, x[3], dtype=object) if not isinstance(x[3], np.ndarray) else x[3] for x in parts])
    e_dept = np.concatenate([np.full(x[0].size, None, dtype=object) if x[4] is None else x[4] for x in parts])
    e_agent = np.concatenate([np.full(x[0].size, -2) if x[5] is None else x[5] for x in parts])  # -2: unchanged
    e_touch = np.concatenate([x[6] for x in parts])
    srt = np.lexsort((e_time, e_ticket))
    e_ticket, e_time, e_type, e_to, e_dept, e_agent, e_touch = (x[srt] for x in (e_ticket, e_time, e_type, e_to, e_dept, e_agent, e_touch))
    idx = np.arange(e_ticket.size)
    st_idx = np.maximum.accumulate(np.where(e_to != None, idx, 0))  # noqa: E711 (element-wise)
    status_now = e_to[st_idx]
    from_status = np.where(group_rank(e_ticket) == 0, None, np.concatenate([[None], status_now[:-1]])).astype(object)
    dept_now = e_dept[np.maximum.accumulate(np.where(e_dept != None, idx, 0))]  # noqa: E711
    agent_now = e_agent[np.maximum.accumulate(np.where(e_agent != -2, idx, 0))]
    enum_ = np.arange(1, e_ticket.size + 1)
    events = make_table({
        "event_id": ids("EV", enum_, 9), "ticket_id": ids("T", tnum[e_ticket], 8), "event_type": e_type,
        "from_status": from_status, "to_status": e_to, "department": dept_now, "agent_id": _emp_or_null(ctx, np.where(e_type == "status_change", -1, agent_now)),
        "touch_minutes": e_touch, "occurred_at": e_time, "updated_at": e_time,
    }, enum_, e_time)
    # ticket versions: the ticket's state after each of its events
    solved_seen = np.where(e_to == "solved", e_time, np.nan)
    sidx = np.maximum.accumulate(np.where(np.isfinite(solved_seen) | (group_rank(e_ticket) == 0), idx, 0))
    solved_at = np.where(np.isin(status_now, ["solved", "closed"]), solved_seen[sidx], np.nan)
    priority = np.array(["low", "normal", "high", "urgent"], dtype=object)[rng.choice(4, n, p=[0.3, 0.5, 0.15, 0.05])]
    channel = np.array(["phone", "email", "web", "call_center", "fax", "sms"], dtype=object)[rng.choice(6, n, p=[0.3, 0.28, 0.25, 0.12, 0.03, 0.02])]
    subject = np.array(TICKET_CATEGORIES, dtype=object)[tk.category]
    te = e_ticket
    tickets = make_table({
        "ticket_id": ids("T", tnum[te], 8), "requester_id": ids("U", ticket_req_num[te], 7),
        "product_id": _product_or_null(ctx, tk.product[te]),
        "order_id": pa.array(np.where(order_of_ticket[te] >= 0, np.asarray(ids("SO", np.maximum(order_of_ticket[te], 0), 8), dtype=object), None), pa.string()),
        "subject": np.char.add("Request: ", subject[te].astype(str)).astype(object), "category": subject[te], "priority": priority[te],
        "channel": channel[te], "status": status_now, "assignee_id": _emp_or_null(ctx, agent_now), "department": dept_now,
        "needs_field_visit": tk.needs_visit[te], "created_at": tk.created[te], "solved_at": solved_at, "updated_at": e_time,
    }, tnum[te], e_time)

    # --- field visits ---
    vis1 = np.flatnonzero(tk.needs_visit)
    vis2 = np.flatnonzero(tk.v2)
    f_ticket = np.concatenate([vis1, vis2])
    nv = f_ticket.size
    is2 = np.arange(nv) >= vis1.size
    tech = np.where(is2, tk.v2_tech[f_ticket], tk.v1_tech[f_ticket])
    req = np.where(is2, tk.v1_done[f_ticket] + 0.2, tk.v1_req[f_ticket])
    sched = np.where(is2, tk.v2_sched[f_ticket], tk.v1_sched[f_ticket])
    done = np.where(is2, tk.v2_done[f_ticket], tk.v1_done[f_ticket])
    labour = np.where(is2, tk.v2_labour[f_ticket], tk.v1_labour[f_ticket])
    ftf = np.where(is2, False, tk.v1_ftf[f_ticket])
    fnum = np.arange(1, nv + 1)
    has_sched = np.flatnonzero(np.isfinite(sched))
    fv = np.concatenate([np.arange(nv), has_sched, has_sched])
    stage = np.concatenate([np.zeros(nv, int), np.ones(has_sched.size, int), np.full(has_sched.size, 2)])
    fvt = np.where(stage == 0, req[fv], np.where(stage == 1, req[fv] + np.minimum(0.3, (sched[fv] - req[fv]) / 2), done[fv]))
    fstatus = np.array(["requested", "scheduled", "completed"], dtype=object)[stage]
    done_col = np.where(stage == 2, done[fv], np.nan)
    visits = make_table({
        "visit_id": ids("FV", fnum[fv], 7), "ticket_id": ids("T", tnum[f_ticket[fv]], 8),
        "technician_id": staff.employee_id.take(pa.array(staff.technicians[tech[fv]])), "status": fstatus,
        "requested_at": req[fv], "scheduled_for": np.where(stage >= 1, sched[fv], np.nan),
        "arrived_at": np.where(stage == 2, done[fv] - labour[fv] / 1440, np.nan), "completed_at": done_col,
        "is_first_time_fix": bool_or_null(ftf[fv], stage < 2), "labour_minutes": np.where(stage == 2, labour[fv], np.nan),
        "updated_at": fvt,
    }, fnum[fv], fvt)

    # --- satisfaction ratings ---
    rated = np.flatnonzero(tk.rated)
    rt = tk.solved_final[rated] + rng.exponential(1.0, rated.size)
    score = tk.score[rated]
    has_comment = rng.random(rated.size) < 0.4
    comments = np.array([None] + [COMMENTS[s] for s in range(1, 6)], dtype=object)[np.where(has_comment, score, 0)]
    rnum_ = np.arange(1, rated.size + 1)
    ratings = make_table({
        "rating_id": ids("R", rnum_, 8), "ticket_id": ids("T", tnum[rated], 8), "score": score, "comment": comments,
        "rated_at": rt, "updated_at": rt,
    }, rnum_, rt)

    calls = _build_calls(ctx, tk, tnum, channel, agent, h_t, k)
    return {"helpdesk": {"requesters": requesters, "tickets": tickets, "ticket_events": events, "field_visits": visits,
                         "service_contracts": contracts, "satisfaction_ratings": ratings},
            "callcenter": {"calls": calls}}


def _agent_of(rng: np.random.Generator, ctx: Ctx, dept: np.ndarray) -> np.ndarray:
    staff = ctx.staff
    out = np.full(dept.size, -1)
    for d in np.unique(dept):  # loop per department
        pool = staff.technicians if d == "field_service" else staff.agents[staff.department[staff.agents] == d]
        if pool.size == 0:
            pool = staff.agents
        sel = np.flatnonzero(dept == d)
        out[sel] = pool[rng.integers(0, pool.size, sel.size)]
    return out


def _emp_or_null(ctx: Ctx, staff_index: np.ndarray) -> pa.Array:
    arr = ctx.staff.employee_id.take(pa.array(np.maximum(staff_index, 0)))
    return pa.array(np.where(staff_index >= 0, np.asarray(arr, dtype=object), None), pa.string())


def _product_or_null(ctx: Ctx, product: np.ndarray) -> pa.Array:
    arr = ctx.products.product_id.take(pa.array(np.maximum(product, 0)))
    return pa.array(np.where(product >= 0, np.asarray(arr, dtype=object), None), pa.string())


def _build_calls(ctx: Ctx, tk: Tickets, tnum: np.ndarray, channel: np.ndarray, hop_agent: np.ndarray, h_t: np.ndarray, k: np.ndarray) -> pa.Table:
    """Call-center calls: ticket calls, sales and billing calls, outbound calls, unknown numbers."""
    rng = ctx.rng("calls")
    p, per, staff = ctx.parties, ctx.persons, ctx.staff
    first_agent = np.full(tk.party.size, -1)
    first_agent[h_t[k == 0]] = hop_agent[k == 0]
    phone_tickets = np.flatnonzero(np.isin(channel, ["phone", "call_center"]))
    follow = phone_tickets[rng.random(phone_tickets.size) < 0.3]
    c_ticket = np.concatenate([phone_tickets, follow])
    c_time = np.concatenate([tk.created[phone_tickets] - 0.001, tk.created[follow] + rng.uniform(0.5, 5, follow.size)])
    c_person = tk.person[c_ticket]
    known = np.flatnonzero(np.isfinite(per.contact_day) & p.is_customer[per.party])
    length = np.clip(ctx.clock.span - per.contact_day[known], 0, None)
    counts = rng.poisson(0.5 / 365 * length)
    s_person = np.repeat(known, counts)
    s_time = per.contact_day[s_person] + rng.random(s_person.size) * np.repeat(length, counts)
    n_t, n_s = c_ticket.size, s_person.size
    n_unknown = int((n_t + n_s) * 0.08)
    u_time = rng.uniform(0, ctx.clock.span, n_unknown)
    person = np.concatenate([c_person, s_person, np.full(n_unknown, -1)])
    start = np.concatenate([c_time, s_time, u_time])
    n = person.size
    direction = np.where(np.arange(n) < n_t, "inbound", np.where(rng.random(n) < 0.25, "outbound", "inbound")).astype(object)
    queue = np.where(np.arange(n) < n_t, "service", np.array(["sales", "billing", "service"], dtype=object)[rng.choice(3, n, p=[0.5, 0.3, 0.2])]).astype(object)
    outcome = np.where(np.arange(n) < n_t, "answered",
                       np.array(["answered", "abandoned", "voicemail", "callback_requested"], dtype=object)[rng.choice(4, n, p=[0.72, 0.15, 0.06, 0.07])]).astype(object)
    agents = np.where(np.arange(n) < n_t, first_agent[np.concatenate([c_ticket, np.zeros(n - n_t, int)])], staff.agents[rng.integers(0, staff.agents.size, n)])
    agents = np.where(np.isin(outcome, ["abandoned", "voicemail"]), -1, agents)
    duration = np.where(agents >= 0, rng.lognormal(np.log(240), 0.7, n), rng.uniform(5, 60, n)).astype(np.int64)
    pk = np.maximum(person, 0)
    switch = phone_variant(rng, per.calling.take(pa.array(pk)), per.phone_area.take(pa.array(pk)), per.phone_sub.take(pa.array(pk)),
                           {"e164": 0.7, "intl_00": 0.2, "national_space": 0.1})
    random_numbers = join("+49", pa.array(rng.integers(150_000_000, 179_999_999, n).astype(str)))
    caller = pa.array(np.where(person >= 0, np.asarray(switch, dtype=object), np.asarray(random_numbers, dtype=object)), pa.string())
    ticket = pa.array(np.where(np.arange(n) < n_t, np.asarray(ids("T", tnum[np.concatenate([c_ticket, np.zeros(n - n_t, int)])], 8), dtype=object), None), pa.string())
    srt = np.argsort(start, kind="stable")
    cnum = np.arange(1, n + 1)
    end = start[srt] + duration[srt] / 86400 + 0.0005
    return make_table({
        "call_id": ids("CL", cnum, 9), "caller_phone": caller.take(pa.array(srt)), "agent_id": _emp_or_null(ctx, agents[srt]),
        "direction": direction[srt], "queue": queue[srt], "outcome": outcome[srt], "ticket_id": ticket.take(pa.array(srt)),
        "started_at": start[srt], "duration_seconds": duration[srt], "updated_at": end,
    }, cnum, end, party=np.where(person[srt] >= 0, per.party[pk[srt]], -1), person=person[srt])
