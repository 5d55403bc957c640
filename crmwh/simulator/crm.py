"""CRM master and activity records: accounts, contacts, interactions, web visits.

Signals built in: referrals (``referred_by_account_id``, Q22); duplicate
accounts for the same company (identity); account owners change when a rep
resigns (Q18); several reps talk to one customer and write down what they
promised (Q19); inbound requests that nobody answers (Q14); sales contacts
happen whether or not a ticket is open (Q13); web visitors become known by
e-mail (Q9).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from crmwh.simulator.common import bool_or_null, ids, join, make_table, pick
from crmwh.simulator.names import INDUSTRIES, POOLS, STREETS, TITLES, company_name_variant, email_variant, person_name_variant, phone_variant
from crmwh.simulator.population import CATEGORIES, LEAD_SOURCES, Ctx, rep_at

COMMITMENTS = [
    "Promised 10% discount on the next order", "Will send a revised quote by Friday", "Committed to free installation",
    "Promised a technician visit this week", "Agreed delivery within 2 weeks", "Will extend the warranty by one year",
    "Promised a call back from the product specialist", "Offered free toner for three months",
]


def build_crm(ctx: Ctx, last_purchase_day: np.ndarray) -> dict[str, pa.Table]:
    rng = ctx.rng("accounts")
    p, per, staff = ctx.parties, ctx.persons, ctx.staff
    acc_party = np.flatnonzero(p.has_account)
    # duplicate accounts: a second rep creates the same company again
    dup = acc_party[p.is_business[acc_party] & (rng.random(acc_party.size) < 0.04)]
    dup_day = p.conv_day[dup] + rng.uniform(30, 500, dup.size)
    a_party = np.concatenate([acc_party, dup])
    a_num = np.concatenate([acc_party + 1, 8_000_000 + np.arange(1, dup.size + 1)])
    a_created = np.concatenate([p.conv_day[acc_party], dup_day])
    is_dup = np.arange(a_party.size) >= acc_party.size
    n_a = a_party.size
    # versions: created; owner handed over when the rep resigns; some later edits
    owner0 = p.owner_rep[a_party]
    term = staff.term_day[staff.reps][owner0]
    handover = np.flatnonzero(np.isfinite(term) & (term > a_created))
    edited = np.flatnonzero(rng.random(n_a) < 0.12)
    v = np.concatenate([np.arange(n_a), handover, edited])
    vt = np.concatenate([a_created, term[handover] + rng.uniform(0.5, 5, handover.size), a_created[edited] + rng.uniform(5, 600, edited.size)])
    vp = a_party[v]
    owner = staff.reps[rep_at(staff, owner0[v], vt)]
    biz = p.is_business[vp]
    cname = company_name_variant(rng, p.word_a[vp], p.word_b[vp], p.suffix_row[vp],
                                 {"exact": 0.7, "suffix": 0.15, "typo": 0.05, "ascii": 0.05, "no_suffix": 0.05})
    prim = p.first_person[vp]
    first, last, _ = person_name_variant(rng, per.first[prim], per.last[prim], {"exact": 0.8, "nickname": 0.1, "ascii": 0.1})
    name = pa.array(np.where(biz, np.asarray(cname, dtype=object), np.asarray(join(first, last, sep=" "), dtype=object)), pa.string())
    referrer = p.referrer[vp]
    ref_ok = (referrer >= 0) & ~is_dup[v]
    ref_col = pa.array(np.where(ref_ok, np.asarray(ids("ACC-", np.maximum(referrer, 0) + 1, 7), dtype=object), None), pa.string())
    accounts = make_table({
        "account_id": ids("ACC-", a_num[v], 7), "account_name": name,
        "account_type": np.where(biz, "business", "person").astype(object),
        "industry": pa.array(np.where(biz, np.array(INDUSTRIES, dtype=object)[p.industry[vp]], None), pa.string()),
        "website": pa.array(np.where(biz, np.asarray(join("www.", p.domain.take(pa.array(vp))), dtype=object), None), pa.string()),
        "phone": phone_variant(rng, pick(POOLS.calling, p.country[vp]), p.phone_area.take(pa.array(vp)), p.phone_sub.take(pa.array(vp)),
                               {"e164": 0.15, "intl_spaced": 0.35, "national_dash": 0.2, "national_paren": 0.2, "intl_00": 0.1}),
        "street": join(pick(STREETS, p.street[vp]), pa.array(p.house_no[vp].astype(str)), sep=" "),
        "city": pick(POOLS.city, p.city[vp]), "country": pick(POOLS.country_code, p.country[vp]),
        "owner_employee_id": staff.employee_id.take(pa.array(owner)), "referred_by_account_id": ref_col,
        "created_at": a_created[v], "updated_at": vt, "is_deleted": np.zeros(v.size, bool),
    }, a_num[v], vt, party=vp)

    # --- contacts ---
    rng = ctx.rng("contacts")
    cp = np.flatnonzero(np.isfinite(per.contact_day))
    c_party = per.party[cp]
    # people of a duplicated company are sometimes filed under the duplicate account
    dup_num = np.full(p.n, -1)
    dup_num[dup] = 8_000_000 + np.arange(1, dup.size + 1)
    dup_day_p = np.full(p.n, np.inf)
    dup_day_p[dup] = dup_day
    on_dup = (dup_num[c_party] > 0) & (per.contact_day[cp] > dup_day_p[c_party]) & (rng.random(cp.size) < 0.7)
    acct_num = np.where(on_dup, dup_num[c_party], c_party + 1)
    edited = np.flatnonzero(rng.random(cp.size) < 0.1)
    v = np.concatenate([np.arange(cp.size), edited])
    vt = np.concatenate([per.contact_day[cp], per.contact_day[cp][edited] + rng.uniform(5, 500, edited.size)])
    vper = cp[v]
    first, last, _ = person_name_variant(rng, per.first[vper], per.last[vper], {"exact": 0.75, "nickname": 0.1, "ascii": 0.08, "typo": 0.05, "swapped": 0.02})
    titles = np.array(TITLES + [None], dtype=object)
    src_labels = np.array(list(LEAD_SOURCES), dtype=object)
    contacts = make_table({
        "contact_id": ids("CT-", vper + 1, 8), "account_id": ids("ACC-", acct_num[v], 7), "first_name": first, "last_name": last,
        "email": email_variant(rng, per.email.take(pa.array(vper)), 0.08, 0.3),
        "phone": phone_variant(rng, per.calling.take(pa.array(vper)), per.phone_area.take(pa.array(vper)), per.phone_sub.take(pa.array(vper)),
                               {"e164": 0.1, "intl_spaced": 0.3, "national_dash": 0.25, "national_paren": 0.2, "intl_00": 0.05, "national_space": 0.1}),
        "title": titles[per.title[vper]], "lead_source": src_labels[p.source[per.party[vper]]],
        "created_at": per.contact_day[vper], "updated_at": vt,
    }, vper, vt, party=per.party[vper], person=vper, extra={"_language": np.array(["de", "en", "fr"], dtype=object)[p.country[per.party[vper]] % 3]})

    interactions = _build_interactions(ctx, last_purchase_day, acct_num_of_party=np.arange(1, p.n + 1))
    visits = _build_web_visits(ctx)
    return {"accounts": accounts, "contacts": contacts, "interactions": interactions, "web_visits": visits}


def _build_interactions(ctx: Ctx, last_purchase_day: np.ndarray, acct_num_of_party: np.ndarray) -> pa.Table:
    rng = ctx.rng("interactions")
    p, per, staff = ctx.parties, ctx.persons, ctx.staff
    acc = np.flatnonzero(p.has_account)
    end = np.where(np.isfinite(last_purchase_day[acc]), last_purchase_day[acc] + 180, p.conv_day[acc] + 120)
    end = np.minimum(end, ctx.clock.span)
    rate = np.where(p.is_business[acc], 7.0, 0.8) / 365
    length = np.clip(end - p.conv_day[acc], 0, None)
    counts = rng.poisson(rate * length)
    s_party = np.repeat(acc, counts)
    s_time = p.conv_day[s_party] + rng.random(s_party.size) * np.repeat(length, counts)
    # inbound requests from people
    known = np.flatnonzero(np.isfinite(per.contact_day))
    length_p = np.clip(ctx.clock.span - per.contact_day[known], 0, None)
    counts_p = rng.poisson(0.5 / 365 * length_p)
    i_person = np.repeat(known, counts_p)
    i_time = per.contact_day[i_person] + rng.random(i_person.size) * np.repeat(length_p, counts_p)
    n_s, n_i = s_party.size, i_person.size
    s_person = ctx.person_of_party(rng, s_party, s_time)
    party = np.concatenate([s_party, per.party[i_person]])
    person = np.concatenate([s_person, i_person])
    t = np.concatenate([s_time, i_time])
    n = n_s + n_i
    inbound = np.arange(n) >= n_s
    owner = rep_at(staff, p.owner_rep[party], t)
    # a third of sales touches come from another rep (Q19)
    other = rng.integers(0, staff.reps.size, n)
    rep = np.where(~inbound & (rng.random(n) < 0.3), other, owner)
    employee = np.where(inbound & (rng.random(n) < 0.5), staff.agents[rng.integers(0, staff.agents.size, n)], staff.reps[rep])
    out_ch = np.array(["phone", "email", "visit", "letter", "fax", "sms"], dtype=object)[rng.choice(6, n, p=[0.35, 0.3, 0.2, 0.05, 0.03, 0.07])]
    in_ch = np.array(["email", "web", "phone", "call_center", "fax", "letter", "sms"], dtype=object)[rng.choice(7, n, p=[0.3, 0.22, 0.18, 0.12, 0.06, 0.05, 0.07])]
    channel = np.where(inbound, in_ch, out_ch).astype(object)
    itype = np.where(inbound, np.where(rng.random(n) < 0.8, "request", "complaint"),
                     np.where(rng.random(n) < 0.6, "sales_call", "follow_up")).astype(object)
    commitment = np.where(~inbound & (rng.random(n) < 0.22), np.array(COMMITMENTS, dtype=object)[rng.integers(0, len(COMMITMENTS), n)], None)
    requires = inbound & (rng.random(n) < 0.7)
    u = rng.random(n)
    response = np.where(u < 0.83, rng.exponential(1.0, n), np.where(u < 0.9, 14 + rng.exponential(15, n), np.nan))
    responded_at = np.where(requires, t + response, np.nan)
    duration = np.where(np.isin(channel, ["phone", "call_center", "visit"]), rng.lognormal(np.log(400), 0.8, n), np.nan)
    duration = np.where(channel == "visit", duration * 8, duration)
    subjects = np.array(["Price inquiry", "Product demo", "Order follow-up", "Contract renewal", "Please call me back", "Delivery question", "Complaint about service"], dtype=object)
    subject = subjects[np.where(inbound, rng.choice([2, 4, 5, 6], n), rng.choice([0, 1, 2, 3], n))]
    order = np.argsort(t, kind="stable")
    inum = np.empty(n, dtype=np.int64)
    inum[order] = np.arange(1, n + 1)
    answered = np.flatnonzero(np.isfinite(responded_at))
    v = np.concatenate([np.arange(n), answered])
    vt = np.concatenate([t, responded_at[answered]])
    first_version = np.arange(v.size) < n
    dur = duration[v]
    return make_table({
        "interaction_id": ids("INT-", inum[v], 9), "contact_id": ids("CT-", person[v] + 1, 8), "account_id": ids("ACC-", acct_num_of_party[party[v]], 7),
        "employee_id": staff.employee_id.take(pa.array(employee[v])), "channel": channel[v],
        "direction": np.where(inbound[v], "inbound", "outbound").astype(object), "interaction_type": itype[v], "subject": subject[v],
        "commitment": commitment[v], "requires_response": bool_or_null(requires[v], ~inbound[v]),
        "responded_at": np.where(first_version, np.nan, responded_at[v]),
        "duration_seconds": pa.array(np.nan_to_num(dur, nan=0).astype(np.int64), mask=np.isnan(dur)),
        "occurred_at": t[v], "updated_at": vt,
    }, inum[v], vt, party=party[v], person=person[v])


def _build_web_visits(ctx: Ctx) -> pa.Table:
    rng = ctx.rng("web_visits")
    p, per, prod = ctx.parties, ctx.persons, ctx.products
    web = np.flatnonzero(rng.random(per.n) < 0.35)
    start = p.lead_day[per.party[web]] - 30
    length = np.clip(ctx.clock.span - start, 0, None)
    counts = rng.poisson(3.0 / 365 * length)
    k_person = np.repeat(web, counts)
    k_time = np.repeat(start, counts) + rng.random(k_person.size) * np.repeat(length, counts)
    n_anon = per.n * 2
    a_counts = 1 + rng.poisson(0.8, n_anon)
    a_vis = np.repeat(np.arange(n_anon), a_counts)
    a_time = rng.uniform(0, ctx.clock.span, a_vis.size)
    person = np.concatenate([k_person, np.full(a_vis.size, -1)])
    visitor_num = np.concatenate([k_person + 1, per.n + 1 + a_vis])
    t = np.concatenate([k_time, a_time])
    n = t.size
    known = person >= 0
    identified = known & (t > per.contact_day[np.maximum(person, 0)]) & (rng.random(n) < 0.7)
    email = email_variant(rng, per.email.take(pa.array(np.maximum(person, 0))), 0.0, 0.3)
    email = pa.array(np.where(identified, np.asarray(email, dtype=object), None), pa.string())
    cat = np.where(known & (rng.random(n) < 0.7), p.home_category[per.party[np.maximum(person, 0)]], rng.integers(0, len(CATEGORIES), n))
    sizes = np.array([c.size for c in prod.by_category])
    first_of = np.array([c[0] for c in prod.by_category])
    product = first_of[cat] + (rng.random(n) * sizes[cat]).astype(np.int64)
    on_product = rng.random(n) < 0.75
    pid = pa.array(np.where(on_product, np.asarray(prod.product_id.take(pa.array(product)), dtype=object), None), pa.string())
    landing = pa.array(np.where(on_product, np.asarray(join("/products/", prod.product_id.take(pa.array(product))), dtype=object),
                                np.array(["/", "/contact", "/support", "/pricing"], dtype=object)[rng.integers(0, 4, n)]), pa.string())
    order = np.argsort(t, kind="stable")
    vnum = np.empty(n, dtype=np.int64)
    vnum[order] = np.arange(1, n + 1)
    exported = t + rng.uniform(0.01, 0.2, n)
    return make_table({
        "visit_id": ids("WS", vnum, 10), "visitor_id": ids("V", visitor_num, 9), "visitor_email": email, "landing_page": landing,
        "product_id": pid, "pages_viewed": (1 + rng.geometric(0.35, n)).astype(np.int64),
        "referrer": np.array(["search", "ads", "email", "direct"], dtype=object)[rng.choice(4, n, p=[0.45, 0.2, 0.15, 0.2])],
        "visited_at": t, "updated_at": exported,
    }, vnum, exported, party=np.where(known, per.party[np.maximum(person, 0)], -1), person=person)
