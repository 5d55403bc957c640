"""The true population: parties (companies and consumers), people, staff and products.

Everything here is ground truth, drawn once per seed. Source systems later
show these entities under their own ids and spellings. Behavioural
heterogeneity lives here too: purchase rates and dropout probabilities
(BG/NBD-like), referral propensity, rep skill and discount style, technician
skill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crmwh.simulator.common import Clock, categorical, ids, join, pick, rng_for
from crmwh.simulator.names import FIRST_NAMES, FREEMAIL, INDUSTRIES, LAST_NAMES, POOLS, STREETS, TITLES

LEAD_SOURCES = {"web": 0.28, "campaign": 0.15, "trade_show": 0.15, "brochure": 0.1, "referral": 0.12, "cold_call": 0.12, "partner": 0.08}
# Share of parties from each source that ever become customers: lead quality differs (Q1).
CUSTOMER_SHARE = {"web": 0.55, "campaign": 0.5, "trade_show": 0.45, "brochure": 0.3, "referral": 0.85, "cold_call": 0.3, "partner": 0.7}

CATEGORIES = ["printers", "copiers", "consumables", "software", "accessories", "services"]
# (category, product names, list price range)
PRODUCT_SPECS = [
    ("printers", ["LaserJet 200", "LaserJet 400", "InkStar Home", "InkStar Pro", "ColorLaser 600", "Label Printer L1"], (149, 1400)),
    ("copiers", ["MFP 3000", "MFP 5000", "MFP 7000 Office", "Copier C90"], (1900, 12000)),
    ("consumables", ["Toner Black XL", "Toner Color Set", "Ink Cartridge Black", "Ink Cartridge Color", "Paper A4 Box", "Drum Unit", "Maintenance Kit"], (15, 260)),
    ("software", ["PrintManager Cloud", "ScanFlow", "Secure Print Suite", "Fleet Monitor"], (90, 2400)),
    ("accessories", ["Paper Tray 500", "Finisher Unit", "Wireless Module", "Stand Cabinet", "Card Reader"], (40, 900)),
    ("services", ["Maintenance Contract Basic", "Maintenance Contract Standard", "Maintenance Contract Premium", "Repair Service", "Installation Service", "User Training"], (120, 2500)),
]
SERVICE_LEVEL_OF_PRODUCT = {"Maintenance Contract Basic": "basic", "Maintenance Contract Standard": "standard", "Maintenance Contract Premium": "premium"}


@dataclass
class Parties:
    n: int
    is_business: np.ndarray
    country: np.ndarray          # index into POOLS.countries
    city: np.ndarray             # index into POOLS.city
    street: np.ndarray
    house_no: np.ndarray
    word_a: np.ndarray
    word_b: np.ndarray
    suffix_row: np.ndarray
    industry: np.ndarray
    source: np.ndarray           # index into LEAD_SOURCES
    lead_day: np.ndarray
    conv_day: np.ndarray         # conversion to a contact/account (NaN: lead only)
    is_customer: np.ndarray
    has_account: np.ndarray
    first_order_day: np.ndarray  # NaN for non-customers
    rate_per_day: np.ndarray     # purchase rate while alive
    dropout_p: np.ndarray        # chance to drop out after each purchase
    home_category: np.ndarray
    referrer: np.ndarray         # party index or -1
    territory: np.ndarray
    owner_rep: np.ndarray        # index into Staff.reps
    n_persons: np.ndarray
    first_person: np.ndarray
    domain: pa.Array
    phone_area: pa.Array
    phone_sub: pa.Array
    party_id: pa.Array


@dataclass
class Persons:
    n: int
    party: np.ndarray
    first: np.ndarray
    last: np.ndarray
    is_primary: np.ndarray
    contact_day: np.ndarray      # when the person becomes a CRM contact (NaN: never)
    email: pa.Array              # canonical lower-case e-mail
    phone_area: pa.Array
    phone_sub: pa.Array
    calling: pa.Array
    title: np.ndarray
    optout_day: np.ndarray       # e-mail opt-out (inf: never)
    person_id: pa.Array


@dataclass
class Staff:
    n: int
    employee_id: pa.Array
    first: np.ndarray
    last: np.ndarray
    role: np.ndarray             # labels in ROLES
    department: np.ndarray
    territory: np.ndarray        # -1 if none
    manager: np.ndarray          # staff index or -1
    hired_day: np.ndarray
    term_day: np.ndarray         # inf: still employed
    reps: np.ndarray             # staff indices of sales reps
    rep_skill: np.ndarray        # per rep: win propensity
    rep_discount: np.ndarray     # per rep: mean discount off list
    rep_commission: np.ndarray
    rep_successor: np.ndarray    # per rep: rep index taking over on resignation
    agents: np.ndarray
    technicians: np.ndarray
    tech_skill: np.ndarray
    marketers: np.ndarray
    n_territories: int


@dataclass
class Products:
    n: int
    product_id: pa.Array
    name: list[str]
    category: np.ndarray         # index into CATEGORIES
    list_price: np.ndarray
    unit_cost: np.ndarray
    by_category: list[np.ndarray]


ROLES = ["sales_rep", "sales_manager", "service_agent", "technician", "marketing", "manager"]
ROLE_DEPARTMENT = {"sales_rep": "sales", "sales_manager": "sales", "service_agent": "service", "technician": "field_service", "marketing": "marketing", "manager": "finance"}


def build_products(seed: int) -> Products:
    rng = rng_for(seed, "products")
    names, cats, prices = [], [], []
    for cat_index, (_, items, (lo, hi)) in enumerate(PRODUCT_SPECS):
        for item in items:
            names.append(item)
            cats.append(cat_index)
            prices.append(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 0) - 0.01)
    n = len(names)
    category = np.array(cats)
    list_price = np.array(prices)
    margin = np.where(category == CATEGORIES.index("services"), rng.uniform(0.2, 0.4, n), rng.uniform(0.45, 0.78, n))
    unit_cost = np.round(list_price * margin, 2)
    by_category = [np.flatnonzero(category == c) for c in range(len(CATEGORIES))]
    return Products(n, ids("PRD-", np.arange(1, n + 1), 4), names, category, list_price, unit_cost, by_category)


def build_staff(seed: int, n_parties: int, clock: Clock) -> Staff:
    rng = rng_for(seed, "staff")
    n_terr = int(np.clip(n_parties // 2500, 4, 40))
    n_reps = max(8, n_parties // 120)
    n_agents = max(6, n_parties // 150)
    n_tech = max(4, n_parties // 250)
    n_mkt = max(3, n_parties // 1000)
    counts = {"sales_manager": n_terr, "manager": 2, "sales_rep": n_reps, "service_agent": n_agents, "technician": n_tech, "marketing": n_mkt}
    role = np.concatenate([np.full(c, r, dtype=object) for r, c in counts.items()])
    n = role.size
    department = np.array([ROLE_DEPARTMENT[r] for r in role], dtype=object)
    # some service agents sit in second-level support or engineering: tickets hop between them
    agents = np.flatnonzero(role == "service_agent")
    department[agents] = np.array(["service", "service_l2", "engineering", "billing"], dtype=object)[
        rng.choice(4, size=agents.size, p=[0.55, 0.2, 0.15, 0.1])]
    territory = np.full(n, -1)
    managers = np.flatnonzero(role == "sales_manager")
    territory[managers] = np.arange(n_terr)
    reps = np.flatnonzero(role == "sales_rep")
    territory[reps] = np.arange(reps.size) % n_terr
    top = np.flatnonzero(role == "manager")
    manager = np.full(n, -1)
    manager[managers] = top[0]
    manager[reps] = managers[territory[reps]]
    others = np.flatnonzero((role != "sales_rep") & (role != "sales_manager") & (role != "manager"))
    manager[others] = top[1]
    hired_day = np.where(rng.random(n) < 0.8, -rng.uniform(30, 3000, n), rng.uniform(0, clock.span * 0.8, n))
    # reps resign (Q18); others rarely
    term_p = np.where(role == "sales_rep", 0.18, 0.04)
    resign = rng.random(n) < term_p
    term_day = np.where(resign, np.maximum(hired_day, 0) + rng.uniform(60, clock.span, n), np.inf)
    term_day[np.isin(np.arange(n), np.concatenate([managers, top]))] = np.inf
    rep_skill = rng.beta(2.0, 3.0, reps.size)
    rep_discount = rng.uniform(0.0, 0.2, reps.size)
    rep_commission = np.round(rng.uniform(0.02, 0.08, reps.size), 3)
    # successor: the next rep of the same territory that does not resign (or itself)
    successor = np.arange(reps.size)
    stays = ~np.isfinite(term_day[reps])
    for t in range(n_terr):  # loop per territory, not per row
        members = np.flatnonzero(territory[reps] == t)
        keep = members[stays[members]]
        if keep.size:
            successor[members] = keep[rng.integers(0, keep.size, members.size)]
    successor[stays] = np.flatnonzero(stays)
    technicians = np.flatnonzero(role == "technician")
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    return Staff(
        n=n, employee_id=ids("E", np.arange(1, n + 1), 5), first=first, last=last, role=role, department=department,
        territory=territory, manager=manager, hired_day=hired_day, term_day=term_day, reps=reps,
        rep_skill=rep_skill, rep_discount=rep_discount, rep_commission=rep_commission, rep_successor=successor,
        agents=agents, technicians=technicians, tech_skill=rng.uniform(0.4, 0.95, technicians.size),
        marketers=np.flatnonzero(role == "marketing"), n_territories=n_terr,
    )


def rep_at(staff: Staff, rep_index: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The rep (index into ``staff.reps``) responsible at ``day``: a resigned rep's successor takes over."""
    term = staff.term_day[staff.reps][rep_index]
    return np.where(np.asarray(day) >= term, staff.rep_successor[rep_index], rep_index)


def build_parties(seed: int, n: int, clock: Clock, staff: Staff, party_offset: int = 0,
                  person_offset: int = 0) -> tuple[Parties, Persons]:
    """The parties and their people; a shard numbers them from ``party_offset``/``person_offset`` on,
    so ids and id-derived text (web domains) stay unique across shards."""
    rng = rng_for(seed, "parties")
    is_business = rng.random(n) < 0.3
    country, _ = categorical(rng, n, {c: w for c, w in zip(POOLS.countries, [0.6, 0.1, 0.1, 0.1, 0.1])})
    city = POOLS.city_offset[country] + (rng.random(n) * POOLS.city_count[country]).astype(np.int64)
    source, source_labels = categorical(rng, n, LEAD_SOURCES)
    # most parties arrive during the history, some during the simulated nights; parties are numbered
    # in order of arrival (drawn over a fixed span, so the draws do not depend on the number of nights)
    arrives_later = rng.random(n) < 0.12
    lead_day = np.sort(np.where(arrives_later, rng.uniform(clock.history_days, clock.span, n),
                                rng.uniform(-30, clock.history_days, n)))
    src_share = np.array([CUSTOMER_SHARE[s] for s in source_labels])
    is_customer = rng.random(n) < src_share[source]
    has_account = is_customer | (rng.random(n) < 0.45)
    conv_day = np.where(has_account, lead_day + rng.exponential(18.0, n), np.nan)
    first_order_day = np.where(is_customer, conv_day + rng.exponential(6.0, n), np.nan)
    # BG/NBD-like heterogeneity: gamma purchase rates, beta dropout
    rate_per_year = np.where(is_business, rng.gamma(1.3, 5.0, n), rng.gamma(0.9, 3.0, n))
    dropout_p = rng.beta(1.2, 5.0, n)
    home_category = rng.choice(len(CATEGORIES) - 1, size=n, p=[0.35, 0.15, 0.2, 0.15, 0.15])
    # referrals: referred parties point at an earlier customer; pick the best of three
    # candidates by advocacy so that a few customers refer a lot (Q22)
    referrer = np.full(n, -1)
    referred = np.flatnonzero(source == source_labels.index("referral"))
    cust_idx = np.flatnonzero(is_customer)
    advocacy = rate_per_year * rng.lognormal(0, 1.0, n)
    pos = np.searchsorted(cust_idx, referred)  # customers arrived before this party
    ok = pos > 0
    referred, pos = referred[ok], pos[ok]
    cands = cust_idx[(rng.random((3, referred.size)) * pos).astype(np.int64)]
    best = np.argmax(advocacy[cands], axis=0)
    referrer[referred] = cands[best, np.arange(referred.size)]
    territory = (city * 7 + country) % staff.n_territories
    reps_by_terr = [np.flatnonzero(staff.territory[staff.reps] == t) for t in range(staff.n_territories)]
    owner_rep = np.empty(n, dtype=np.int64)
    for t, members in enumerate(reps_by_terr):  # loop per territory
        sel = np.flatnonzero(territory == t)
        owner_rep[sel] = members[rng.integers(0, members.size, sel.size)]
    n_persons = np.where(is_business, 1 + np.minimum(rng.poisson(1.4, n), 5), 1)
    first_person = np.concatenate([[0], np.cumsum(n_persons)[:-1]])
    word_a = rng.integers(0, len(POOLS.word_a), n)
    word_b = rng.integers(0, len(POOLS.word_b), n)
    suffix_choice = (rng.random(n) * np.array(POOLS.suffix_options)[country]).astype(np.int64)
    suffix_row = POOLS.suffix_offset[country] + suffix_choice
    party_num = party_offset + np.arange(1, n + 1)
    domain = join(pick(POOLS.word_a_slug, word_a), pick(POOLS.word_b_slug, word_b), "-",
                  pa.array(party_num.astype(str)), ".", pick(POOLS.country_code, country), sep="")
    domain = pc.utf8_lower(domain)
    phone_area = pick(POOLS.city_area, city)
    phone_sub = pa.array((rng.integers(1_000_000, 9_999_999, n)).astype(str))
    parties = Parties(
        n=n, is_business=is_business, country=country, city=city, street=rng.integers(0, len(STREETS), n),
        house_no=rng.integers(1, 180, n), word_a=word_a, word_b=word_b, suffix_row=suffix_row,
        industry=rng.integers(0, len(INDUSTRIES), n), source=source, lead_day=lead_day, conv_day=conv_day,
        is_customer=is_customer, has_account=has_account, first_order_day=first_order_day,
        rate_per_day=rate_per_year / 365.0, dropout_p=dropout_p, home_category=home_category, referrer=referrer,
        territory=territory, owner_rep=owner_rep, n_persons=n_persons, first_person=first_person, domain=domain,
        phone_area=phone_area, phone_sub=phone_sub, party_id=ids("P", party_num, 7),
    )
    # people
    m = int(n_persons.sum())
    party = np.repeat(np.arange(n), n_persons)
    is_primary = np.zeros(m, dtype=bool)
    is_primary[first_person] = True
    first = rng.integers(0, len(FIRST_NAMES), m)
    last = rng.integers(0, len(LAST_NAMES), m)
    extra_delay = np.where(is_primary, 0.0, rng.exponential(120.0, m))
    contact_day = conv_day[party] + extra_delay
    local = join(pick(POOLS.first_mail, first), pick(POOLS.last_mail, last), sep=".")
    person_num = person_offset + np.arange(1, m + 1)
    consumer_mail = join(join(local, pa.array((person_num % 97).astype(str)), sep=""),
                         pick(FREEMAIL, rng.integers(0, len(FREEMAIL), m)), sep="@")
    business_mail = join(local, domain.take(pa.array(party)), sep="@")
    email = pa.array(np.where(is_business[party], np.asarray(business_mail, dtype=object), np.asarray(consumer_mail, dtype=object)))
    own_line = pa.array((rng.integers(1_000_000, 9_999_999, m)).astype(str))
    shares_company_line = is_business[party] & (rng.random(m) < 0.3)
    phone_sub_p = pa.array(np.where(shares_company_line, np.asarray(phone_sub.take(pa.array(party)), dtype=object), np.asarray(own_line, dtype=object)))
    optout_day = np.where(rng.random(m) < 0.18, contact_day + rng.exponential(200.0, m), np.inf)
    persons = Persons(
        n=m, party=party, first=first, last=last, is_primary=is_primary, contact_day=contact_day, email=email,
        phone_area=phone_area.take(pa.array(party)), phone_sub=phone_sub_p,
        calling=POOLS.calling.take(pa.array(country[party])),
        title=np.where(is_business[party], rng.integers(0, len(TITLES), m), -1), optout_day=optout_day,
        person_id=ids("PER", person_num, 8),
    )
    return parties, persons


@dataclass
class Ctx:
    """Everything the entity models share: seed, clock and the true population."""

    seed: int
    clock: Clock
    staff: Staff
    products: Products
    parties: Parties
    persons: Persons
    party_offset: int = 0        # global number of this shard's first party minus one (0 unsharded)

    def rng(self, *keys: str) -> np.random.Generator:
        return rng_for(self.seed, *keys)

    def person_of_party(self, rng: np.random.Generator, party: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A random person of each party who is already a contact at ``day`` (else the primary one)."""
        p = self.parties
        cand = p.first_person[party] + (rng.random(party.size) * p.n_persons[party]).astype(np.int64)
        known = self.persons.contact_day[cand] <= day
        return np.where(known, cand, p.first_person[party])


def build_ctx(seed: int, n_parties: int, clock: Clock) -> Ctx:
    staff = build_staff(seed, n_parties, clock)
    products = build_products(seed)
    parties, persons = build_parties(seed, n_parties, clock, staff)
    return Ctx(seed, clock, staff, products, parties, persons)
