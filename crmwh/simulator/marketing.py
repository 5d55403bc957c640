"""CRM marketing records: campaigns with costs, sends and responses, leads, consent, events.

Signals built in: lead quality differs by source (Q1, Q5-Q7); two departments
send the same material to the same contacts (Q8); a few sends ignore an
opt-out (Q15); some event registrations never get a confirmation (Q16);
campaign responses lead to purchases (Q4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crmwh.simulator.common import bool_or_null, categorical, ids, make_table
from crmwh.simulator.names import company_name_variant, email_variant, person_name_variant, phone_variant
from crmwh.simulator.population import LEAD_SOURCES, Ctx

CAMPAIGN_TYPES = {"email": 0.28, "trade_show": 0.12, "brochure": 0.12, "seminar": 0.1, "webinar": 0.1,
                  "direct_mail": 0.12, "sms": 0.08, "web_ads": 0.08}
DURATION = {"email": 1, "trade_show": 3, "brochure": 30, "seminar": 1, "webinar": 1, "direct_mail": 7, "sms": 1, "web_ads": 30}
BUDGET = {"email": (300, 3000), "trade_show": (20000, 150000), "brochure": (4000, 30000), "seminar": (3000, 15000),
          "webinar": (500, 4000), "direct_mail": (5000, 40000), "sms": (300, 3000), "web_ads": (2000, 50000)}
AUDIENCE = {"email": 0.2, "trade_show": 0.0, "brochure": 0.04, "seminar": 0.05, "webinar": 0.08, "direct_mail": 0.08, "sms": 0.04, "web_ads": 0.0}
CHANNEL = {"email": "email", "trade_show": "in_person", "brochure": "mail", "seminar": "email", "webinar": "email",
           "direct_mail": "mail", "sms": "sms", "web_ads": "email"}
RESPONSE = {"email": 0.03, "trade_show": 0.2, "brochure": 0.05, "seminar": 0.15, "webinar": 0.2, "direct_mail": 0.04, "sms": 0.02, "web_ads": 0.0}
OPTOUT_CHANNELS = ["email", "sms", "mail"]


@dataclass
class Marketing:
    tables: dict[str, pa.Table]
    response_party: np.ndarray   # parties who responded to a campaign ...
    response_day: np.ndarray     # ... and when (campaign-induced purchases follow)
    campaign_id: pa.Array
    campaign_start: np.ndarray
    campaign_type: np.ndarray
    lead_id_of_party: pa.Array
    optout_channel: np.ndarray
    lead_campaign_of_party: np.ndarray  # campaign index of each party's first lead, -1 if none


def build_marketing(ctx: Ctx) -> Marketing:
    rng = ctx.rng("campaigns")
    p, per, clock = ctx.parties, ctx.persons, ctx.clock
    n_c = max(30, p.n // 250)
    ctype_i, ctype_labels = categorical(rng, n_c, CAMPAIGN_TYPES)
    ctype = np.array(ctype_labels, dtype=object)[ctype_i]
    start = np.sort(rng.uniform(-40, clock.span, n_c))
    duration = np.array([DURATION[t] for t in ctype], dtype=np.float64)
    end = start + duration - 1
    department = np.array(["marketing", "sales", "service"], dtype=object)[rng.choice(3, n_c, p=[0.7, 0.25, 0.05])]
    material_types = np.isin(ctype, ["brochure", "direct_mail", "email"])
    material = np.full(n_c, None, dtype=object)
    mat_idx = np.flatnonzero(material_types)
    material[mat_idx] = np.asarray(ids("MAT-", np.arange(1, mat_idx.size + 1), 4), dtype=object)
    # pairs of material campaigns: the second re-sends the first one's material from another department (Q8)
    partner = np.full(n_c, -1)
    first_of_pair, second_of_pair = mat_idx[0:-1:2], mat_idx[1::2]
    paired = rng.random(second_of_pair.size) < 0.45
    first_of_pair, second_of_pair = first_of_pair[paired], second_of_pair[paired]
    material[second_of_pair] = material[first_of_pair]
    department[second_of_pair] = np.where(department[first_of_pair] == "marketing", "sales", "marketing")
    partner[first_of_pair] = second_of_pair
    lo = np.array([BUDGET[t][0] for t in ctype])
    hi = np.array([BUDGET[t][1] for t in ctype])
    budget = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), -1)
    actual = np.round(budget * rng.uniform(0.75, 1.25, n_c), 2)
    names = np.char.add(np.char.add(ctype.astype(str), " "), (np.arange(1, n_c + 1)).astype(str))
    campaign_id = ids("CMP-", np.arange(1, n_c + 1), 5)
    # two versions: planned (no cost yet), then the final cost after the campaign ended
    v = np.concatenate([np.arange(n_c), np.arange(n_c)])
    vt = np.concatenate([start - rng.uniform(10, 40, n_c), end + rng.uniform(1, 10, n_c)])
    is_final = np.arange(v.size) >= n_c
    cols = {
        "campaign_id": campaign_id.take(pa.array(v)), "campaign_name": np.char.title(names[v]).astype(object),
        "campaign_type": ctype[v], "department": department[v], "material_code": material[v],
        "start_date": start[v], "end_date": end[v], "budget": budget[v],
        "actual_cost": np.where(is_final, actual[v], 0.0), "currency": np.full(v.size, "EUR", dtype=object),
        "updated_at": vt,
    }
    campaigns = make_table(cols, v, vt)

    # --- memberships (sends) to existing contacts ---
    rng = ctx.rng("campaign_members")
    known = np.flatnonzero(np.isfinite(per.contact_day))
    order = known[np.argsort(per.contact_day[known], kind="stable")]
    bound = np.searchsorted(per.contact_day[order], start, side="right")  # contacts known by then
    share = np.array([AUDIENCE[t] for t in ctype])
    k = rng.binomial(bound, share)
    m_camp = np.repeat(np.arange(n_c), k)
    m_person = order[(rng.random(m_camp.size) * bound[m_camp]).astype(np.int64)]
    # the paired campaign re-sends to half of its partner's audience
    src = np.flatnonzero(partner[m_camp] >= 0)
    src = src[rng.random(src.size) < 0.5]
    m_camp = np.concatenate([m_camp, partner[m_camp[src]]])
    m_person = np.concatenate([m_person, m_person[src]])
    key = m_camp.astype(np.int64) * (per.n + 1) + m_person
    _, uniq = np.unique(key, return_index=True)
    m_camp, m_person = m_camp[uniq], m_person[uniq]
    sent = start[m_camp] + rng.uniform(0, 1, m_camp.size) * np.minimum(duration[m_camp], 3)
    ok = per.contact_day[m_person] <= sent
    m_camp, m_person, sent = m_camp[ok], m_person[ok], sent[ok]
    # consent: most opt-outs are honoured; a few sends slip through (Q15)
    optout_channel = np.array(OPTOUT_CHANNELS, dtype=object)[rng.choice(3, per.n, p=[0.8, 0.1, 0.1])]
    channel = np.array([CHANNEL[t] for t in ctype], dtype=object)[m_camp]
    violates = (per.optout_day[m_person] <= sent) & (optout_channel[m_person] == channel)
    keep = ~violates | (rng.random(m_camp.size) < 0.06)
    m_camp, m_person, sent, channel = m_camp[keep], m_person[keep], sent[keep], channel[keep]
    n_m = m_camp.size
    is_customer = p.is_customer[per.party[m_person]]
    resp_p = np.array([RESPONSE[t] for t in ctype])[m_camp] * np.where(is_customer, 1.6, 1.0)
    u = rng.random(n_m)
    responded = u < resp_p
    clicked = (~responded) & (u < resp_p + 0.06)
    opened = (~responded) & (~clicked) & (u < resp_p + 0.3) & (channel == "email")
    bounced = (~responded) & (~clicked) & (~opened) & (u > 0.97) & (channel == "email")
    responded_at = np.where(responded | clicked, sent + rng.exponential(3.0, n_m), np.nan)
    status2 = np.select([responded, clicked, opened, bounced], ["responded", "clicked", "opened", "bounced"], "sent").astype(object)
    changed_at = np.where(np.isnan(responded_at), sent + rng.uniform(0.05, 2.0, n_m), responded_at)
    has2 = status2 != "sent"
    mem_num = np.arange(n_m)
    second = np.flatnonzero(has2)

    # trade-show business cards and brochure hand-outs are memberships of leads (Q5, Q6)
    lead_tables, lead_id_of_party, lead_party, lead_day, lead_camp, lead_src = _build_leads(ctx, campaign_id, start, ctype)
    in_person = np.flatnonzero(np.isin(lead_src, ["trade_show", "brochure"]) & (lead_camp >= 0))
    l_n = in_person.size
    member_cols_n = n_m + l_n
    all_num = np.concatenate([mem_num, n_m + np.arange(l_n)])
    lead_status = np.where(lead_src[in_person] == "trade_show", "responded", "sent").astype(object)
    base = {
        "camp": np.concatenate([m_camp, lead_camp[in_person]]),
        "contact": np.concatenate([m_person, np.full(l_n, -1)]),
        "lead": np.concatenate([np.full(n_m, -1), in_person]),
        "channel": np.concatenate([channel, np.full(l_n, "in_person", dtype=object)]),
        "sent": np.concatenate([sent, lead_day[in_person]]),
        "status": np.concatenate([np.full(n_m, "sent", dtype=object), lead_status]),
        "resp": np.concatenate([np.full(n_m, np.nan), np.where(lead_status == "responded", lead_day[in_person], np.nan)]),
    }
    # versions: first the send, then (for some) the response
    v = np.concatenate([np.arange(member_cols_n), second])
    vt = np.concatenate([base["sent"], changed_at[second]])
    is2 = np.arange(v.size) >= member_cols_n
    status = np.where(is2, status2[np.minimum(v, n_m - 1)] if n_m else "sent", base["status"][v]).astype(object)
    resp = np.where(is2, responded_at[np.minimum(v, n_m - 1)] if n_m else np.nan, base["resp"][v])
    contact_idx = base["contact"][v]
    contact_id = _contact_ids(ctx, contact_idx)
    lead_idx = base["lead"][v]
    lead_ids = lead_tables_ids(lead_tables, lead_idx)
    members = make_table({
        "member_id": ids("CM-", all_num[v] + 1, 8), "campaign_id": campaign_id.take(pa.array(base["camp"][v])),
        "contact_id": contact_id, "lead_id": lead_ids, "department": department[base["camp"][v]],
        "channel": base["channel"][v], "status": status, "sent_at": base["sent"][v], "responded_at": resp,
        "updated_at": vt,
    }, v, vt)

    # --- consent log ---
    rng = ctx.rng("consents")
    has_contact = np.flatnonzero(np.isfinite(per.contact_day))
    opted = has_contact[np.isfinite(per.optout_day[has_contact])]
    c_person = np.concatenate([has_contact, opted])
    c_status = np.concatenate([np.full(has_contact.size, "opt_in", dtype=object), np.full(opted.size, "opt_out", dtype=object)])
    c_channel = np.concatenate([np.full(has_contact.size, "email", dtype=object), optout_channel[opted]])
    c_source = np.concatenate([np.full(has_contact.size, "web_form", dtype=object),
                               np.array(["unsubscribe_link", "call", "letter"], dtype=object)[rng.choice(3, opted.size, p=[0.7, 0.2, 0.1])]])
    c_at = np.concatenate([per.contact_day[has_contact] + 0.001, per.optout_day[opted]])
    order_c = np.argsort(c_at, kind="stable")
    c_person, c_status, c_channel, c_source, c_at = (x[order_c] for x in (c_person, c_status, c_channel, c_source, c_at))
    consents = make_table({
        "consent_id": ids("CON-", np.arange(1, c_at.size + 1), 8), "contact_id": _contact_ids(ctx, c_person),
        "channel": c_channel, "status": c_status, "source": c_source, "effective_at": c_at, "updated_at": c_at,
    }, np.arange(c_at.size), c_at)

    # --- event registrations (seminars, webinars) ---
    rng = ctx.rng("event_registrations")
    events = np.isin(ctype[m_camp], ["seminar", "webinar"]) & (responded | clicked)
    r_idx = np.flatnonzero(events)
    r_person, r_camp = m_person[r_idx], m_camp[r_idx]
    reg_at = np.nan_to_num(responded_at[r_idx], nan=0.0)
    reg_at = np.minimum(reg_at, start[r_camp] - 0.01)
    reg_at = np.maximum(reg_at, sent[r_idx] + 0.01)
    n_r = r_idx.size
    unconfirmed = rng.random(n_r) < 0.08
    confirmed_at = np.where(unconfirmed, np.nan, reg_at + rng.uniform(0.0005, 0.02, n_r))
    attended = rng.random(n_r) < np.where(unconfirmed, 0.25, 0.65)
    v = np.concatenate([np.arange(n_r), np.arange(n_r)])
    after_event = end[r_camp] + 1.0
    vt = np.concatenate([np.where(unconfirmed, reg_at, confirmed_at), after_event])
    is2 = np.arange(v.size) >= n_r
    email = email_variant(rng, per.email.take(pa.array(r_person[v])), 0.0, 0.3)
    registrations = make_table({
        "registration_id": ids("REG-", v + 1, 7), "campaign_id": campaign_id.take(pa.array(r_camp[v])),
        "contact_id": _contact_ids(ctx, r_person[v]), "email": email, "registered_at": reg_at[v],
        "confirmation_sent_at": confirmed_at[v], "attended": bool_or_null(attended[v], ~is2), "updated_at": vt,
    }, v, vt)

    resp_idx = np.flatnonzero(responded)
    tables = {"campaigns": campaigns, "campaign_members": members, "consents": consents,
              "event_registrations": registrations, **lead_tables}
    return Marketing(tables, per.party[m_person[resp_idx]], responded_at[resp_idx], campaign_id, start, ctype,
                     lead_id_of_party, optout_channel, lead_camp[:p.n])


def _contact_ids(ctx: Ctx, person: np.ndarray) -> pa.Array:
    """CRM contact id of a person (null where ``person`` is -1)."""
    arr = ids("CT-", np.maximum(person, 0) + 1, 8)
    return pa.array(np.where(person >= 0, np.asarray(arr, dtype=object), None), pa.string())


def lead_tables_ids(lead_tables: dict[str, pa.Table], lead_idx: np.ndarray) -> pa.Array:
    arr = ids("LD-", np.maximum(lead_idx, 0) + 1, 8)
    return pa.array(np.where(lead_idx >= 0, np.asarray(arr, dtype=object), None), pa.string())


def _build_leads(ctx: Ctx, campaign_id: pa.Array, camp_start: np.ndarray, ctype: np.ndarray):
    """One lead per party (its first contact with us) plus repeat leads of people we already know."""
    rng = ctx.rng("leads")
    p, per, staff = ctx.parties, ctx.persons, ctx.staff
    labels = list(LEAD_SOURCES)
    src = np.array(labels, dtype=object)[p.source]
    # extra leads: known people drop a card at a show or fill a web form again (identity challenge)
    extra_person = np.flatnonzero(np.isfinite(per.contact_day) & (rng.random(per.n) < 0.06))
    extra_day = per.contact_day[extra_person] + rng.exponential(200.0, extra_person.size)
    extra_src = np.array(["trade_show", "web", "brochure"], dtype=object)[rng.choice(3, extra_person.size)]
    l_party = np.concatenate([np.arange(p.n), per.party[extra_person]])
    l_person = np.concatenate([p.first_person, extra_person])
    l_day = np.concatenate([p.lead_day, extra_day])
    l_src = np.concatenate([src, extra_src])
    n_l = l_party.size
    is_extra = np.arange(n_l) >= p.n
    # the campaign that produced it: the latest campaign of a matching type started before
    l_camp = np.full(n_l, -1)
    groups = {"trade_show": ["trade_show"], "brochure": ["brochure"], "campaign": ["email", "direct_mail", "webinar", "seminar", "web_ads", "sms"]}
    for source, types in groups.items():  # loop per source type
        cands = np.flatnonzero(np.isin(ctype, types))
        sel = np.flatnonzero(l_src == source)
        if cands.size == 0 or sel.size == 0:
            continue
        pos = np.searchsorted(camp_start[cands], l_day[sel], side="right") - 1
        l_camp[sel] = np.where(pos >= 0, cands[np.maximum(pos, 0)], -1)
    conv = np.where(is_extra, np.nan, p.conv_day[l_party])
    work_day = l_day + rng.uniform(0.5, 10, n_l)
    converted = np.isfinite(conv)
    final_bad = (~converted) & (rng.random(n_l) < 0.6)
    final_day = np.where(converted, np.maximum(conv, work_day + 0.1), l_day + rng.uniform(15, 90, n_l))
    final_status = np.where(converted, "converted", np.where(final_bad, "disqualified", "working")).astype(object)
    owner = staff.reps[p.owner_rep[l_party]]
    v = np.concatenate([np.arange(n_l), np.arange(n_l), np.flatnonzero(final_status != "working")])
    stage = np.concatenate([np.zeros(n_l, int), np.ones(n_l, int), np.full(v.size - 2 * n_l, 2)])
    vt = np.where(stage == 0, l_day[v], np.where(stage == 1, work_day[v], final_day[v]))
    status = np.where(stage == 0, "new", np.where(stage == 1, "working", final_status[v])).astype(object)
    is_conv = (stage == 2) & (status == "converted")
    first, last, _ = person_name_variant(rng, per.first[l_person[v]], per.last[l_person[v]],
                                         {"exact": 0.6, "nickname": 0.12, "ascii": 0.12, "typo": 0.1, "swapped": 0.06})
    pv = l_party[v]
    company = company_name_variant(rng, p.word_a[pv], p.word_b[pv], p.suffix_row[pv],
                                   {"exact": 0.4, "suffix": 0.25, "upper": 0.1, "typo": 0.1, "ascii": 0.1, "no_suffix": 0.05})
    company = pa.array(np.where(p.is_business[pv], np.asarray(company, dtype=object), None), pa.string())
    email = email_variant(rng, per.email.take(pa.array(l_person[v])), 0.1, 0.3)
    phone = phone_variant(rng, per.calling.take(pa.array(l_person[v])), per.phone_area.take(pa.array(l_person[v])),
                          per.phone_sub.take(pa.array(l_person[v])),
                          {"e164": 0.2, "intl_spaced": 0.2, "national_dash": 0.2, "national_paren": 0.15, "intl_00": 0.1, "national_space": 0.15})
    conv_contact = np.where(is_conv, l_person[v], -1)
    conv_account = ids("ACC-", pv + 1, 7)
    leads = make_table({
        "lead_id": ids("LD-", v + 1, 8), "first_name": first, "last_name": last, "company": company, "email": email,
        "phone": phone, "lead_source": l_src[v],
        "campaign_id": pa.array(np.where(l_camp[v] >= 0, np.asarray(campaign_id.take(pa.array(np.maximum(l_camp[v], 0))), dtype=object), None), pa.string()),
        "status": status, "owner_employee_id": ctx.staff.employee_id.take(pa.array(owner[v])),
        "converted_contact_id": _contact_ids(ctx, conv_contact),
        "converted_account_id": pa.array(np.where(is_conv, np.asarray(conv_account, dtype=object), None), pa.string()),
        "converted_opportunity_id": None,  # filled by the sales model (opportunities know their lead)
        "converted_at": np.where(is_conv, final_day[v], np.nan), "created_at": l_day[v], "updated_at": vt,
    }, v, vt, party=l_party[v], person=l_person[v])
    return {"leads": leads}, ids("LD-", np.arange(1, p.n + 1), 8), l_party, l_day, l_camp, l_src
