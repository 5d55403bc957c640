"""ERP records: customers, products, staff, quotas, opportunities, quotes, orders, payments, commissions.

Purchases follow a BG/NBD-like process (gamma-distributed rates, beta
dropout), so customer-value models have loyal customers and churners;
cross-buying grows with tenure; reps differ in win rate and discounting, and
a second rep sometimes quotes the same customer (Q12, Q20).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crmwh.simulator.common import group_rank, ids, make_table, money, segment_cumsum
from crmwh.simulator.common import join, pick
from crmwh.simulator.names import FIRST_NAMES, LAST_NAMES, POOLS, STREETS, company_name_variant, email_variant, full_name, person_name_variant, phone_variant
from crmwh.simulator.population import CATEGORIES, Ctx, rep_at

STAGES = ["prospecting", "qualification", "proposal", "negotiation"]


@dataclass
class Purchases:
    party: np.ndarray
    day: np.ndarray
    seq: np.ndarray          # purchase number of the party (0 = first)
    line_start: np.ndarray   # index of the first line
    line_count: np.ndarray
    line_order: np.ndarray   # per line: purchase index
    line_product: np.ndarray
    line_qty: np.ndarray
    line_discount: np.ndarray

    def subset(self, keep: np.ndarray) -> "Purchases":
        keep_idx = np.flatnonzero(keep)
        new_index = np.full(keep.size, -1)
        new_index[keep_idx] = np.arange(keep_idx.size)
        line_keep = keep[self.line_order]
        counts = self.line_count[keep_idx]
        return Purchases(self.party[keep_idx], self.day[keep_idx], self.seq[keep_idx],
                         np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64), counts,
                         new_index[self.line_order[line_keep]], self.line_product[line_keep],
                         self.line_qty[line_keep], self.line_discount[line_keep])


def draw_purchases(ctx: Ctx, response_party: np.ndarray, response_day: np.ndarray) -> Purchases:
    """Every purchase the customers would make, before service experience drives some away."""
    rng = ctx.rng("purchases")
    p, staff, prod = ctx.parties, ctx.staff, ctx.products
    cust = np.flatnonzero(p.is_customer)
    n_purch = np.minimum(rng.geometric(p.dropout_p[cust]), 80)
    party = np.repeat(cust, n_purch)
    seq = group_rank(party)
    gaps = rng.exponential(1.0, party.size) / p.rate_per_day[party]
    gaps[seq == 0] = 0.0
    day = p.first_order_day[party] + segment_cumsum(gaps, seq == 0)
    # campaign responses of customers lead to extra purchases (Q4 attribution)
    buys = p.is_customer[response_party] & (rng.random(response_party.size) < 0.35)
    ind_party = response_party[buys]
    ind_day = response_day[buys] + rng.exponential(8.0, ind_party.size)
    ind_day = np.maximum(ind_day, p.first_order_day[ind_party] + 0.5)
    party = np.concatenate([party, ind_party])
    day = np.concatenate([day, ind_day])
    keep = day < ctx.clock.span
    party, day = party[keep], day[keep]
    order = np.lexsort((day, party))
    party, day = party[order], day[order]
    seq = group_rank(party)
    n = party.size
    # lines: businesses buy more lines; cross-buying grows with the purchase number
    line_count = 1 + np.minimum(rng.poisson(np.where(p.is_business[party], 1.4, 0.5)), 7)
    line_order = np.repeat(np.arange(n), line_count)
    line_start = np.concatenate([[0], np.cumsum(line_count)[:-1]]).astype(np.int64)
    n_lines = line_order.size
    cross = rng.random(n_lines) < np.minimum(0.08 + 0.06 * seq[line_order], 0.6)
    other = rng.integers(0, len(CATEGORIES), n_lines)
    category = np.where(cross, other, p.home_category[party[line_order]])
    # services are bought mostly by businesses after their first purchase
    cat_sizes = np.array([c.size for c in prod.by_category])
    cat_offsets = np.concatenate([[0], np.cumsum(cat_sizes)[:-1]])
    flat = np.concatenate(prod.by_category)
    product = flat[cat_offsets[category] + (rng.random(n_lines) * cat_sizes[category]).astype(np.int64)]
    business = p.is_business[party[line_order]]
    qty = np.where(business, 1 + rng.poisson(np.where(category == CATEGORIES.index("consumables"), 6, 1.0)), 1 + (rng.random(n_lines) < 0.15))
    rep = rep_at(staff, p.owner_rep[party[line_order]], day[line_order])
    disc = np.where(business, staff.rep_discount[rep] + rng.normal(0, 0.02, n_lines), np.where(rng.random(n_lines) < 0.1, 0.1, 0.0))
    disc = np.round(np.clip(disc, 0.0, 0.35), 3)
    return Purchases(party, day, seq, line_start, line_count, line_order, product, qty.astype(np.int64), disc)


def build_sales(ctx: Ctx, pu: Purchases, lead_id_of_party: pa.Array, campaign_of_lead: np.ndarray,
                campaign_id: pa.Array) -> tuple[dict[str, pa.Table], dict[str, np.ndarray]]:
    """All ERP tables from the final purchases. Returns the tables and per-order facts other models need."""
    rng = ctx.rng("orders")
    p, staff, prod, clock = ctx.parties, ctx.staff, ctx.products, ctx.clock
    n = pu.party.size
    # order ids increase with time
    chrono = np.argsort(pu.day, kind="stable")
    order_num = np.empty(n, dtype=np.int64)
    order_num[chrono] = np.arange(1, n + 1)
    order_id = ids("SO", order_num, 8)
    business = p.is_business[pu.party]

    # --- ERP customers (bill-to), with a duplicate master record for a few parties ---
    # the customer master holds buyers and the business prospects that were quoted
    cust = np.flatnonzero(p.is_customer | (p.is_business & p.has_account))
    cust_num = np.full(p.n, -1)
    cust_num[cust] = np.arange(1, cust.size + 1)
    created = p.conv_day[cust] + rng.uniform(0.01, 2.0, cust.size)
    created = np.minimum(created, np.nan_to_num(p.first_order_day[cust], nan=np.inf) - 0.01)
    dup = rng.random(cust.size) < 0.03
    dup_party = cust[dup]
    dup_created = created[dup] + rng.uniform(30, 400, dup.sum())
    dup_num = 5_000_000 + np.arange(1, dup_party.size + 1)
    dup_of_party = np.full(p.n, -1)
    dup_of_party[dup_party] = np.arange(dup_party.size)
    dup_day = np.full(p.n, np.inf)
    dup_day[dup_party] = dup_created
    uses_dup = (pu.day >= dup_day[pu.party]) & (rng.random(n) < 0.5)
    order_cust_num = np.where(uses_dup, dup_num[np.maximum(dup_of_party[pu.party], 0)], cust_num[pu.party])
    order_customer_id = ids("C", order_cust_num, 7)
    c_party = np.concatenate([cust, dup_party])
    c_num = np.concatenate([cust_num[cust], dup_num])
    c_created = np.concatenate([created, dup_created])
    m = c_party.size
    updated = rng.random(m) < 0.15
    v = np.concatenate([np.arange(m), np.flatnonzero(updated)])
    vt = np.concatenate([c_created, c_created[updated] + rng.uniform(10, 500, updated.sum())])
    vp = c_party[v]
    primary = p.first_person[vp]
    per = ctx.persons
    biz_v = p.is_business[vp]
    cname = company_name_variant(rng, p.word_a[vp], p.word_b[vp], p.suffix_row[vp],
                                 {"exact": 0.45, "suffix": 0.2, "upper": 0.2, "typo": 0.08, "ascii": 0.07})
    first, last, _ = person_name_variant(rng, per.first[primary], per.last[primary], {"exact": 0.65, "nickname": 0.1, "ascii": 0.15, "typo": 0.05, "swapped": 0.05})
    pname = full_name(first, last, rng, comma_share=0.3)
    name = pa.array(np.where(biz_v, np.asarray(cname, dtype=object), np.asarray(pname, dtype=object)), pa.string())
    billing_mail = join("invoice@", p.domain.take(pa.array(vp)))
    email = email_variant(rng, per.email.take(pa.array(primary)), 0.15, 0.35)
    email = pa.array(np.where(biz_v & (rng.random(v.size) < 0.4), np.asarray(billing_mail, dtype=object), np.asarray(email, dtype=object)), pa.string())
    phone = phone_variant(rng, pick(POOLS.calling, p.country[vp]), p.phone_area.take(pa.array(vp)), p.phone_sub.take(pa.array(vp)),
                          {"national_dash": 0.45, "intl_00": 0.3, "e164": 0.25})
    vat = join(pick(POOLS.country_code, p.country[vp]), pa.array((100_000_000 + (vp + ctx.party_offset) * 7919 % 899_999_999).astype(str)))
    segment = np.where(biz_v, np.where(p.rate_per_day[vp] * 365 > 8, "Enterprise", "SMB"), "Consumer").astype(object)
    customers = make_table({
        "customer_id": ids("C", c_num[v], 7), "customer_name": name,
        "customer_type": np.where(biz_v, "business", "consumer").astype(object), "email": email, "phone": phone,
        "vat_id": pa.array(np.where(biz_v, np.asarray(vat, dtype=object), None), pa.string()),
        "street": join(pick(STREETS, p.street[vp]), pa.array(p.house_no[vp].astype(str)), sep=" "),
        "city": pick(POOLS.city, p.city[vp]), "country": pick(POOLS.country_code, p.country[vp]),
        "territory_id": ids("T", p.territory[vp] + 1, 3), "created_at": c_created[v], "updated_at": vt,
    }, c_num[v], vt, party=vp, extra={"_segment": segment})

    # --- order headers, with a status history ---
    rep = rep_at(staff, p.owner_rep[pu.party], pu.day)
    has_rep = business | (rng.random(n) < 0.3)
    employee = np.where(has_rep, staff.reps[rep], -1)
    channel = np.where(business, np.array(["direct", "phone", "partner"], dtype=object)[rng.choice(3, n, p=[0.6, 0.2, 0.2])],
                       np.array(["web", "phone", "direct"], dtype=object)[rng.choice(3, n, p=[0.7, 0.2, 0.1])])
    u = rng.random(n)
    cancelled = u < 0.03
    returned = (u >= 0.03) & (u < 0.055)
    shipped = pu.day + rng.uniform(0.5, 4, n)
    invoiced = shipped + rng.uniform(0.0, 3, n)
    returned_at = invoiced + rng.uniform(5, 30, n)
    cancelled_at = pu.day + rng.uniform(0.2, 3, n)
    rows = [(np.arange(n), pu.day, "open"), (np.flatnonzero(cancelled), cancelled_at[cancelled], "cancelled"),
            (np.flatnonzero(~cancelled), shipped[~cancelled], "shipped"), (np.flatnonzero(~cancelled), invoiced[~cancelled], "invoiced"),
            (np.flatnonzero(returned), returned_at[returned], "returned")]
    v = np.concatenate([r[0] for r in rows])
    vt = np.concatenate([r[1] for r in rows])
    status = np.concatenate([np.full(r[0].size, r[2], dtype=object) for r in rows])
    # --- opportunities: first business purchase and a share of later ones are won deals ---
    won = business & ((pu.seq == 0) | (rng.random(n) < 0.3))
    won_idx = np.flatnonzero(won)
    line_net = prod.list_price[pu.line_product] * (1 - pu.line_discount)
    order_total = np.bincount(pu.line_order, weights=line_net * pu.line_qty, minlength=n)
    opp_tables, quote_of_order, opp_of_first = _build_opportunities(ctx, pu, won_idx, order_total, order_customer_id, cust_num,
                                                                    lead_id_of_party, campaign_of_lead, campaign_id)
    quote_id_col = pa.array(np.where(quote_of_order[v] >= 0, np.asarray(ids("Q", np.maximum(quote_of_order[v], 0) + 1, 8), dtype=object), None), pa.string())
    orders = make_table({
        "order_id": order_id.take(pa.array(v)), "customer_id": order_customer_id.take(pa.array(v)), "quote_id": quote_id_col,
        "employee_id": _emp(ctx, employee[v]), "sales_channel": channel[v], "status": status,
        "currency": np.full(v.size, "EUR", dtype=object), "order_date": np.floor(pu.day[v]), "updated_at": vt,
    }, order_num[v], vt)

    # --- order lines (Parquet), returns as negative lines ---
    nl = pu.line_order.size
    ret_lines = np.flatnonzero(returned[pu.line_order])
    lv = np.concatenate([np.arange(nl), ret_lines])
    is_ret = np.arange(lv.size) >= nl
    lt = np.where(is_ret, returned_at[pu.line_order[lv]], pu.day[pu.line_order[lv]] + 0.0005)
    qty = np.where(is_ret, -pu.line_qty[lv], pu.line_qty[lv])
    unit_price = money(prod.list_price[pu.line_product[lv]] * (1 - pu.line_discount[lv]))
    line_num = np.arange(1, lv.size + 1)
    order_lines = make_table({
        "order_line_id": ids("SOL", line_num, 9), "order_id": order_id.take(pa.array(pu.line_order[lv])),
        "product_id": prod.product_id.take(pa.array(pu.line_product[lv])), "quantity": qty.astype(np.int64),
        "unit_price": unit_price, "unit_cost": prod.unit_cost[pu.line_product[lv]],
        "discount_amount": money((prod.list_price[pu.line_product[lv]] - unit_price) * np.abs(qty)), "updated_at": lt,
    }, line_num, lt)

    # --- payments and refunds ---
    paid = ~cancelled & (rng.random(n) < 0.96)
    pay_idx = np.flatnonzero(paid)
    refund_idx = np.flatnonzero(returned)
    pv = np.concatenate([pay_idx, refund_idx])
    pt = np.concatenate([invoiced[pay_idx] + rng.exponential(15, pay_idx.size), returned_at[refund_idx] + rng.uniform(1, 6, refund_idx.size)])
    amount = money(np.where(np.arange(pv.size) < pay_idx.size, order_total[pv], -order_total[pv]))
    method = np.array(["bank_transfer", "card", "cash", "cheque"], dtype=object)[rng.choice(4, pv.size, p=[0.55, 0.35, 0.05, 0.05])]
    pnum = np.arange(1, pv.size + 1)
    payments = make_table({
        "payment_id": ids("PAY", pnum, 8), "order_id": order_id.take(pa.array(pv)), "customer_id": order_customer_id.take(pa.array(pv)),
        "amount": amount, "currency": np.full(pv.size, "EUR", dtype=object), "method": method, "paid_at": pt, "updated_at": pt,
    }, pnum, pt)

    # --- commissions ---
    com_idx = np.flatnonzero(~cancelled & (employee >= 0))
    rep_pos = rep[com_idx]
    rate = staff.rep_commission[rep_pos]
    ct = invoiced[com_idx] + 1.0
    month_start = _month_start_day(clock, invoiced[com_idx])
    cnum = np.arange(1, com_idx.size + 1)
    commissions = make_table({
        "commission_id": ids("COM", cnum, 8), "employee_id": _emp(ctx, employee[com_idx]), "order_id": order_id.take(pa.array(com_idx)),
        "rate": rate, "amount": money(rate * order_total[com_idx]), "period_month": month_start, "updated_at": ct,
    }, cnum, ct)

    tables = {"customers": customers, "orders": orders, "order_lines": order_lines, "payments": payments,
              "commissions": commissions, **opp_tables, **_build_reference(ctx)}
    facts = {"order_id_num": order_num, "order_customer_num": order_cust_num, "opp_of_first": opp_of_first}
    return tables, facts


def _emp(ctx: Ctx, staff_index: np.ndarray) -> pa.Array:
    arr = ctx.staff.employee_id.take(pa.array(np.maximum(staff_index, 0)))
    return pa.array(np.where(staff_index >= 0, np.asarray(arr, dtype=object), None), pa.string())


def _month_start_day(clock, day: np.ndarray) -> np.ndarray:
    dates = np.datetime64(clock.origin.isoformat(), "D") + np.floor(day).astype("timedelta64[D]")
    months = dates.astype("datetime64[M]").astype("datetime64[D]")
    return (months - np.datetime64(clock.origin.isoformat(), "D")).astype(np.int64).astype(np.float64)


def _build_opportunities(ctx: Ctx, pu: Purchases, won_idx: np.ndarray, order_total: np.ndarray, order_customer_id: pa.Array, cust_num: np.ndarray,
                         lead_id_of_party: pa.Array, campaign_of_lead: np.ndarray, campaign_id: pa.Array):
    rng = ctx.rng("opportunities")
    p, staff, prod = ctx.parties, ctx.staff, ctx.products
    n_orders = pu.party.size
    # lost deals: more for reps with less skill
    biz = np.flatnonzero(p.is_business & np.isfinite(p.conv_day))
    l_party, l_day = _poisson(rng, p.conv_day[biz], np.full(biz.size, ctx.clock.span), 0.9 / 365, biz)
    l_rep = rep_at(staff, p.owner_rep[l_party], l_day)
    keep = rng.random(l_party.size) < (1.15 - staff.rep_skill[l_rep])
    l_party, l_day, l_rep = l_party[keep], l_day[keep], l_rep[keep]
    n_won, n_lost = won_idx.size, l_party.size
    o_party = np.concatenate([pu.party[won_idx], l_party])
    close = np.concatenate([pu.day[won_idx] - 0.3, l_day])
    created = np.maximum(close - rng.uniform(15, 120, o_party.size), np.minimum(p.conv_day[o_party] + 2.0, close - 1.0))
    o_rep = np.concatenate([rep_at(staff, p.owner_rep[pu.party[won_idx]], created[:n_won]), l_rep])
    is_won = np.arange(o_party.size) < n_won
    amount = money(np.where(is_won, np.concatenate([order_total[won_idx], np.zeros(n_lost)]) * rng.uniform(0.9, 1.2, o_party.size),
                            np.exp(rng.normal(8.0, 1.0, o_party.size))))
    reached = np.where(is_won, 4, rng.integers(1, 5, o_party.size))  # stages passed before closing
    n_o = o_party.size
    onum = np.arange(1, n_o + 1)
    opp_id = ids("OPP", onum, 8)
    is_first = np.zeros(n_o, bool)
    is_first[:n_won] = pu.seq[won_idx] == 0
    # stage history: one change per stage reached, then the close
    steps = reached + 1
    h_opp = np.repeat(np.arange(n_o), steps)
    k = group_rank(h_opp)
    last = k == steps[h_opp] - 1
    frac = np.where(last, 1.0, k / steps[h_opp])
    h_t = created[h_opp] + frac * (close[h_opp] - created[h_opp])
    to_stage = np.where(last, np.where(is_won[h_opp], "closed_won", "closed_lost"), np.array(STAGES, dtype=object)[np.minimum(k, 3)]).astype(object)
    from_stage = np.where(k == 0, None, np.array(STAGES, dtype=object)[np.clip(k - 1, 0, 3)]).astype(object)
    prob_by_stage = {"prospecting": 0.1, "qualification": 0.25, "proposal": 0.5, "negotiation": 0.7, "closed_won": 1.0, "closed_lost": 0.0}
    probability = np.array([prob_by_stage[s] for s in to_stage]) if to_stage.size else np.zeros(0)
    hnum = np.arange(1, h_opp.size + 1)
    history = make_table({
        "stage_change_id": ids("OSH", hnum, 9), "opportunity_id": opp_id.take(pa.array(h_opp)), "from_stage": from_stage,
        "to_stage": to_stage, "amount": amount[h_opp], "changed_by": staff.employee_id.take(pa.array(staff.reps[o_rep[h_opp]])),
        "changed_at": h_t, "updated_at": h_t,
    }, hnum, h_t)
    lead_party = o_party
    lead_col = pa.array(np.where(is_first, np.asarray(lead_id_of_party.take(pa.array(lead_party)), dtype=object), None), pa.string())
    camp = campaign_of_lead[lead_party]
    camp_col = pa.array(np.where(is_first & (camp >= 0), np.asarray(campaign_id.take(pa.array(np.maximum(camp, 0))), dtype=object), None), pa.string())
    cust_for_opp = pa.array(np.concatenate([np.asarray(order_customer_id.take(pa.array(won_idx)), dtype=object),
                                            np.asarray(ids("C", cust_num[l_party], 7), dtype=object)]), pa.string())
    name = join(join(pick(POOLS.word_a, p.word_a[o_party]), pick(POOLS.word_b, p.word_b[o_party])), "deal", sep=" ")
    opportunities = make_table({
        "opportunity_id": opp_id.take(pa.array(h_opp)), "customer_id": cust_for_opp.take(pa.array(h_opp)),
        "crm_account_id": ids("ACC-", o_party[h_opp] + 1, 7), "lead_id": lead_col.take(pa.array(h_opp)),
        "campaign_id": camp_col.take(pa.array(h_opp)), "owner_employee_id": staff.employee_id.take(pa.array(staff.reps[o_rep[h_opp]])),
        "opportunity_name": name.take(pa.array(h_opp)), "stage": to_stage, "amount": amount[h_opp], "probability": probability,
        "close_date": np.floor(close[h_opp]), "created_at": created[h_opp], "updated_at": h_t,
    }, onum[h_opp], h_t, party=o_party[h_opp])

    # --- quotes: 1-3 per deal that reached the proposal stage; sometimes another rep quotes (Q12) ---
    quoted = np.flatnonzero(reached >= 3)
    nq = 1 + (rng.random(quoted.size) < 0.45) + (rng.random(quoted.size) < 0.2)
    q_opp = np.repeat(quoted, nq)
    qk = group_rank(q_opp)
    q_last = qk == nq[np.searchsorted(quoted, q_opp)] - 1
    q_t = created[q_opp] + (0.5 + 0.45 * (qk + 1) / (nq[np.searchsorted(quoted, q_opp)] + 1)) * (close[q_opp] - created[q_opp])
    other_rep = rng.integers(0, staff.reps.size, q_opp.size)
    q_rep = np.where(rng.random(q_opp.size) < 0.3, other_rep, o_rep[q_opp])
    q_rep = np.where(q_last & is_won[q_opp], o_rep[q_opp], q_rep)
    n_q = q_opp.size
    qnum = np.arange(1, n_q + 1)
    final_status = np.where(q_last, np.where(is_won[q_opp], "accepted", "rejected"), "expired").astype(object)
    valid_until = np.floor(q_t) + 30
    final_t = np.where(q_last, close[q_opp], np.maximum(valid_until + 0.5, q_t + 0.1))
    final_t = np.where(final_status == "expired", np.minimum(final_t, close[q_opp] + 30), final_t)
    qv = np.concatenate([np.arange(n_q), np.arange(n_q)])
    qvt = np.concatenate([q_t, np.maximum(final_t, q_t + 0.01)])
    qstatus = np.where(np.arange(qv.size) < n_q, "sent", final_status[qv]).astype(object)
    q_customer = cust_for_opp.take(pa.array(q_opp))
    quotes = make_table({
        "quote_id": ids("Q", qnum[qv], 8), "opportunity_id": opp_id.take(pa.array(q_opp[qv])), "customer_id": q_customer.take(pa.array(qv)),
        "employee_id": staff.employee_id.take(pa.array(staff.reps[q_rep[qv]])), "status": qstatus,
        "currency": np.full(qv.size, "EUR", dtype=object), "quoted_at": q_t[qv], "valid_until": valid_until[qv], "updated_at": qvt,
    }, qnum[qv], qvt)
    # quote lines: won deals quote the order's products; the accepted quote carries the order's prices
    won_q = np.flatnonzero(is_won[q_opp])
    w_order = won_idx[q_opp[won_q]]
    counts = pu.line_count[w_order]
    ql_quote = np.repeat(won_q, counts)
    ql_line = pu.line_start[np.repeat(w_order, counts)] + group_rank(ql_quote)
    ql_product = pu.line_product[ql_line]
    ql_qty = pu.line_qty[ql_line]
    ql_disc = np.where(q_last[ql_quote], pu.line_discount[ql_line],
                       np.clip(staff.rep_discount[q_rep[ql_quote]] + rng.normal(0, 0.02, ql_quote.size), 0, 0.35))
    lost_q = np.flatnonzero(~is_won[q_opp])
    lq_count = 1 + (rng.random(lost_q.size) < 0.4)
    lq_quote = np.repeat(lost_q, lq_count)
    cat = p.home_category[o_party[q_opp[lq_quote]]]
    lq_product = np.array([c[0] for c in prod.by_category])[cat] + (rng.random(lq_quote.size) * np.array([c.size for c in prod.by_category])[cat]).astype(np.int64)
    lq_disc = np.clip(staff.rep_discount[q_rep[lq_quote]] + rng.normal(0, 0.02, lq_quote.size), 0, 0.35)
    all_quote = np.concatenate([ql_quote, lq_quote])
    all_product = np.concatenate([ql_product, lq_product])
    all_qty = np.concatenate([ql_qty, 1 + rng.poisson(2, lq_quote.size)]).astype(np.int64)
    all_disc = np.round(np.concatenate([ql_disc, lq_disc]), 3)
    srt = np.argsort(all_quote, kind="stable")
    all_quote, all_product, all_qty, all_disc = all_quote[srt], all_product[srt], all_qty[srt], all_disc[srt]
    lnum = np.arange(1, all_quote.size + 1)
    lt = q_t[all_quote] + 0.0001
    quote_lines = make_table({
        "quote_line_id": ids("QL", lnum, 9), "quote_id": ids("Q", qnum[all_quote], 8), "product_id": prod.product_id.take(pa.array(all_product)),
        "quantity": all_qty, "list_price": prod.list_price[all_product], "unit_price": money(prod.list_price[all_product] * (1 - all_disc)),
        "discount_pct": all_disc, "updated_at": lt,
    }, lnum, lt)
    quote_of_order = np.full(n_orders, -1)
    accepted = np.flatnonzero(q_last & is_won[q_opp])
    quote_of_order[won_idx[q_opp[accepted]]] = accepted
    opp_of_first = np.full(p.n, -1)
    first_won = np.flatnonzero(is_first)
    opp_of_first[o_party[first_won]] = first_won
    return ({"opportunities": opportunities, "opportunity_stage_history": history, "quotes": quotes, "quote_lines": quote_lines},
            quote_of_order, opp_of_first)


def _poisson(rng, starts, ends, rate, owners):
    length = np.clip(ends - starts, 0, None)
    counts = rng.poisson(rate * length)
    idx = np.repeat(np.arange(starts.size), counts)
    return owners[idx], starts[idx] + rng.random(idx.size) * length[idx]


def _build_reference(ctx: Ctx) -> dict[str, pa.Table]:
    """Products, employees, territories and quotas: small master data."""
    rng = ctx.rng("reference")
    staff, prod, clock = ctx.staff, ctx.products, ctx.clock
    # products: created before history; 20% get a price change during the window
    changed = np.flatnonzero(rng.random(prod.n) < 0.2)
    v = np.concatenate([np.arange(prod.n), changed])
    vt = np.concatenate([np.full(prod.n, -60.0), rng.uniform(0, clock.span, changed.size)])
    factor = np.where(np.arange(v.size) >= prod.n, rng.uniform(0.95, 1.1, v.size), 1.0)
    products = make_table({
        "product_id": prod.product_id.take(pa.array(v)), "sku": ids("SKU-", 10_000 + v, 6),
        "product_name": np.array(prod.name, dtype=object)[v], "category": np.array(CATEGORIES, dtype=object)[prod.category[v]],
        "is_service": prod.category[v] == CATEGORIES.index("services"), "list_price": money(prod.list_price[v] * factor),
        "unit_cost": prod.unit_cost[v], "currency": np.full(v.size, "EUR", dtype=object), "is_active": np.ones(v.size, bool),
        "updated_at": vt,
    }, v, vt)
    n = staff.n
    left = np.flatnonzero(np.isfinite(staff.term_day))
    ev = np.concatenate([np.arange(n), left])
    evt = np.concatenate([np.maximum(staff.hired_day, -30.0), staff.term_day[left]])
    is_term = np.arange(ev.size) >= n
    first = pick([f for f, _ in FIRST_NAMES], staff.first[ev])
    last = pick(LAST_NAMES, staff.last[ev])
    mail = join(pick(POOLS.first_mail, staff.first[ev]), ".", pick(POOLS.last_mail, staff.last[ev]), ids("", ev + 1, 5), "@acme-office.example", sep="")
    employees = make_table({
        "employee_id": staff.employee_id.take(pa.array(ev)), "first_name": first, "last_name": last, "email": mail,
        "role": staff.role[ev], "department": staff.department[ev],
        "manager_id": _emp(ctx, staff.manager[ev]),
        "territory_id": pa.array(np.where(staff.territory[ev] >= 0, np.asarray(ids("T", staff.territory[ev] + 1, 3), dtype=object), None), pa.string()),
        "hired_at": np.floor(staff.hired_day[ev]), "terminated_at": np.where(is_term, np.floor(staff.term_day[ev]), np.nan),
        "updated_at": evt,
    }, ev, evt)
    t = staff.n_territories
    managers = np.flatnonzero(staff.role == "sales_manager")
    regions = np.array(["North", "South", "East", "West", "Central"], dtype=object)
    territories = make_table({
        "territory_id": ids("T", np.arange(1, t + 1), 3),
        "territory_name": np.array([f"Territory {i + 1} {regions[i % 5]}" for i in range(t)], dtype=object),
        "region": regions[np.arange(t) % 5], "manager_id": staff.employee_id.take(pa.array(managers)),
        "updated_at": np.full(t, -60.0),
    }, np.arange(t), np.full(t, -60.0))
    # quotas: one per rep and month while employed, published a few days before the month
    month_days = _month_start_day(clock, np.arange(0, clock.span, 28.0))
    month_days = np.unique(month_days)
    reps = staff.reps
    q_rep = np.repeat(np.arange(reps.size), month_days.size)
    q_month = np.tile(month_days, reps.size)
    active = (q_month >= staff.hired_day[reps][q_rep]) & (q_month < staff.term_day[reps][q_rep])
    q_rep, q_month = q_rep[active], q_month[active]
    qt = q_month - 5.0
    amount = np.round(rng.uniform(20_000, 80_000, reps.size)[q_rep] * (1 + 0.1 * rng.random(q_rep.size)), -2)
    qnum = np.arange(1, q_rep.size + 1)
    quotas = make_table({
        "quota_id": ids("QTA", qnum, 7), "employee_id": staff.employee_id.take(pa.array(reps[q_rep])), "period_month": q_month,
        "quota_amount": amount, "updated_at": qt,
    }, qnum, qt)
    return {"products": products, "employees": employees, "territories": territories, "quotas": quotas}
