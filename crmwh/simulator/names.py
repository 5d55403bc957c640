"""Name, company, address and phone pools, and the spelling variants each system uses.

Identity resolution only matters if the same person is spelled differently in
different systems. The pools are small, so every variant (nickname, no
accents, typo) is precomputed per pool entry and picked by index: no Python
loop per generated row.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crmwh.simulator.common import choose_where, join, null_where, pick

# (name, nickname or "") -- nicknames are what people type into forms.
FIRST_NAMES: list[tuple[str, str]] = [
    ("William", "Bill"), ("Robert", "Bob"), ("Katherine", "Kate"), ("Michael", "Mike"),
    ("Elizabeth", "Liz"), ("Jürgen", ""), ("José", "Pepe"), ("Zoë", ""), ("François", ""),
    ("Anna", ""), ("Thomas", "Tom"), ("Stefan", ""), ("Sabine", ""), ("Andreas", "Andi"),
    ("Christina", "Tina"), ("Jennifer", "Jenny"), ("Matthias", "Matze"), ("Margarete", "Grete"),
    ("Johannes", "Hannes"), ("Alexander", "Alex"), ("Benjamin", "Ben"), ("Daniel", "Dan"),
    ("Susanne", "Susi"), ("Nikolaus", "Niko"), ("Wolfgang", "Wolf"), ("Günther", ""),
    ("Søren", ""), ("Chloé", ""), ("Hélène", ""), ("Łukasz", ""), ("Ana", ""), ("Marie", ""),
    ("Laura", ""), ("Sophie", ""), ("Lukas", "Luke"), ("Jonas", ""), ("Felix", ""), ("Paul", ""),
    ("Emma", ""), ("Mia", ""), ("Hannah", ""), ("Lea", ""), ("Leon", ""), ("Finn", ""),
    ("Julia", "Jule"), ("Frederik", "Fred"), ("Charlotte", "Lotte"), ("Maximilian", "Max"),
    ("Samuel", "Sam"), ("Victoria", "Vicky"), ("James", "Jim"), ("Richard", "Rick"),
    ("Patricia", "Pat"), ("Oliver", "Olli"), ("Isabelle", "Isa"), ("René", ""), ("Inés", ""),
    ("Björn", ""), ("Jörg", ""), ("Renée", ""),
]
LAST_NAMES: list[str] = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Smith", "Jones", "Taylor", "Brown",
    "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Martin", "Bernard",
    "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau", "Girard",
    "García", "Fernández", "López", "Martínez", "Sánchez", "Gómez", "Nowak", "Kowalski",
    "Wiśniewski", "Dąbrowski", "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen",
    "O'Brien", "MacDonald", "van der Berg", "de Vries", "Janssen", "Bakker", "Visser",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
]
COMPANY_WORDS_A: list[str] = [
    "Nord", "Süd", "Alpen", "Rhein", "Elbe", "Donau", "Berg", "Tal", "Stern", "Sonnen", "Blau",
    "Grün", "Adler", "Falken", "Löwen", "Eichen", "Linden", "Kristall", "Phönix", "Atlas",
    "Nova", "Orion", "Vega", "Polar", "Terra", "Aqua", "Helios", "Zenit", "Delta", "Omega",
    "Prisma", "Quantum", "Vector", "Pioneer", "Summit", "Harbour", "Crown", "Oak", "Maple",
    "Silver", "Golden", "Iron", "Bright", "Clear", "Swift", "Royal", "Metro", "Central",
    "Euro", "Inter",
]
COMPANY_WORDS_B: list[str] = [
    "Technik", "Logistik", "Bau", "Druck", "Medien", "Consulting", "Systems", "Solutions",
    "Handel", "Werke", "Maschinen", "Software", "Partners", "Services", "Industries", "Labs",
    "Energie", "Kontor", "Office", "Print", "Data", "Analytics", "Design", "Versand",
    "Elektro", "Metall", "Holz", "Foods", "Pharma", "Optik",
]
# Legal suffixes per country, each with the variants people type.
SUFFIXES: dict[str, list[list[str]]] = {
    "DE": [["GmbH", "GmbH.", "Gmbh", "G.m.b.H."], ["AG", "A.G.", "AG"], ["GmbH & Co. KG", "GmbH & Co KG", "GmbH&Co.KG"]],
    "AT": [["GmbH", "Ges.m.b.H.", "Gmbh"], ["AG", "A.G.", "AG"]],
    "CH": [["AG", "A.G.", "AG"], ["GmbH", "GmbH.", "Gmbh"], ["SA", "S.A.", "SA"]],
    "GB": [["Ltd", "Ltd.", "Limited"], ["PLC", "plc", "P.L.C."]],
    "FR": [["SARL", "S.A.R.L.", "Sarl"], ["SA", "S.A.", "SA"], ["SAS", "S.A.S.", "Sas"]],
}
COUNTRIES: dict[str, float] = {"DE": 0.6, "AT": 0.1, "CH": 0.1, "GB": 0.1, "FR": 0.1}
CALLING_CODE = {"DE": "49", "AT": "43", "CH": "41", "GB": "44", "FR": "33"}
# (city, area code without trunk 0)
CITIES: dict[str, list[tuple[str, str]]] = {
    "DE": [("Berlin", "30"), ("Hamburg", "40"), ("München", "89"), ("Köln", "221"), ("Frankfurt am Main", "69"),
           ("Stuttgart", "711"), ("Düsseldorf", "211"), ("Leipzig", "341"), ("Dresden", "351"), ("Hannover", "511")],
    "AT": [("Wien", "1"), ("Graz", "316"), ("Linz", "732"), ("Salzburg", "662")],
    "CH": [("Zürich", "44"), ("Genève", "22"), ("Basel", "61"), ("Bern", "31")],
    "GB": [("London", "20"), ("Manchester", "161"), ("Birmingham", "121"), ("Leeds", "113")],
    "FR": [("Paris", "1"), ("Lyon", "4"), ("Marseille", "4"), ("Toulouse", "5")],
}
STREETS: list[str] = [
    "Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schillerstraße", "Goethestraße",
    "Industriestraße", "Marktplatz", "High Street", "Station Road", "Rue de la Paix", "Rue Victor Hugo",
    "Seestrasse", "Ringstraße", "Am Hafen", "Parkweg",
]
FREEMAIL: list[str] = ["gmail.com", "web.de", "gmx.de", "outlook.com", "yahoo.com", "t-online.de", "orange.fr", "bluewin.ch"]
INDUSTRIES: list[str] = ["manufacturing", "retail", "healthcare", "education", "finance", "logistics", "public_sector", "it_services"]
TITLES: list[str] = ["Purchasing Manager", "CEO", "Office Manager", "IT Administrator", "CFO", "Head of Operations", "Assistant", "Procurement Lead"]


def ascii_fold(text: str) -> str:
    """Drop accents the way old systems do (``Müller`` → ``Muller``)."""
    special = {"ß": "ss", "Ł": "L", "ł": "l", "ø": "o", "Ø": "O"}
    text = "".join(special.get(ch, ch) for ch in text)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def transliterate(text: str) -> str:
    """German-style transliteration (``Müller`` → ``Mueller``), used in e-mail addresses."""
    for src, dst in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(src, dst)
    return ascii_fold(text)


def typo(text: str) -> str:
    """A deterministic typo: two neighbouring letters swapped (or a letter doubled)."""
    if len(text) < 4:
        return text + text[-1]
    i = len(text) // 2
    return text[:i - 1] + text[i] + text[i - 1] + text[i + 1:]


def slug(text: str) -> str:
    return "".join(ch for ch in transliterate(text).lower() if ch.isalnum())


class Pools:
    """Arrow arrays of every pool and its precomputed variants."""

    def __init__(self) -> None:
        first = [f for f, _ in FIRST_NAMES]
        self.first = pa.array(first)
        self.first_nick = pa.array([n or f for f, n in FIRST_NAMES])
        self.first_ascii = pa.array([ascii_fold(f) for f in first])
        self.first_typo = pa.array([typo(f) for f in first])
        self.first_mail = pa.array([slug(f) for f in first])
        self.last = pa.array(LAST_NAMES)
        self.last_ascii = pa.array([ascii_fold(x) for x in LAST_NAMES])
        self.last_typo = pa.array([typo(x) for x in LAST_NAMES])
        self.last_mail = pa.array([slug(x) for x in LAST_NAMES])
        self.word_a = pa.array(COMPANY_WORDS_A)
        self.word_a_ascii = pa.array([ascii_fold(x) for x in COMPANY_WORDS_A])
        self.word_a_slug = pa.array([slug(x) for x in COMPANY_WORDS_A])
        self.word_b = pa.array(COMPANY_WORDS_B)
        self.word_b_typo = pa.array([typo(x) for x in COMPANY_WORDS_B])
        self.word_b_slug = pa.array([slug(x) for x in COMPANY_WORDS_B])
        self.countries = list(COUNTRIES)
        # flattened suffix table: (country index, suffix index) → 3 spellings
        self.suffix_options = [len(SUFFIXES[c]) for c in self.countries]
        flat = [SUFFIXES[c][s] for c in self.countries for s in range(len(SUFFIXES[c]))]
        self.suffix_offset = np.cumsum([0] + self.suffix_options[:-1])
        self.suffix = [pa.array([f[k] for f in flat]) for k in range(3)]
        cities = [(c, city, area) for c in self.countries for city, area in CITIES[c]]
        self.city_country = np.array([self.countries.index(c) for c, _, _ in cities])
        self.city = pa.array([city for _, city, _ in cities])
        self.city_area = pa.array([area for _, _, area in cities])
        self.city_offset = np.cumsum([0] + [len(CITIES[c]) for c in self.countries[:-1]])
        self.city_count = np.array([len(CITIES[c]) for c in self.countries])
        self.calling = pa.array([CALLING_CODE[c] for c in self.countries])
        self.country_code = pa.array(self.countries)


POOLS = Pools()


def person_name_variant(rng: np.random.Generator, first_idx: np.ndarray, last_idx: np.ndarray,
                        weights: dict[str, float]) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """First and last name as one system spells them.

    Variant kinds: ``exact``, ``nickname``, ``ascii`` (accents dropped),
    ``typo``, ``swapped`` (first and last exchanged). Returns the kind index too.
    """
    kinds = ["exact", "nickname", "ascii", "typo", "swapped"]
    p = np.array([weights.get(k, 0.0) for k in kinds])
    kind = rng.choice(len(kinds), size=len(first_idx), p=p / p.sum())
    p_ = POOLS
    first = pick(p_.first, first_idx)
    last = pick(p_.last, last_idx)
    first = choose_where(kind == 1, pick(p_.first_nick, first_idx), first)
    first = choose_where(kind == 2, pick(p_.first_ascii, first_idx), first)
    last = choose_where(kind == 2, pick(p_.last_ascii, last_idx), last)
    last = choose_where(kind == 3, pick(p_.last_typo, last_idx), last)
    swapped = kind == 4
    first, last = choose_where(swapped, last, first), choose_where(swapped, first, last)
    return first, last, kind


def full_name(first: pa.Array, last: pa.Array, rng: np.random.Generator, comma_share: float = 0.1) -> pa.Array:
    """``First Last``, or ``Last, First`` for a share of rows (how some forms store it)."""
    comma = rng.random(len(first)) < comma_share
    return choose_where(comma, join(last, first, sep=", "), join(first, last, sep=" "))


def company_name_variant(rng: np.random.Generator, a_idx: np.ndarray, b_idx: np.ndarray, suffix_row: np.ndarray,
                         weights: dict[str, float]) -> pa.Array:
    """Company name spelled by one system: suffix variants, upper case, typos, no accents."""
    kinds = ["exact", "suffix", "upper", "typo", "ascii", "no_suffix"]
    p = np.array([weights.get(k, 0.0) for k in kinds])
    kind = rng.choice(len(kinds), size=len(a_idx), p=p / p.sum())
    p_ = POOLS
    word_a = choose_where(kind == 4, pick(p_.word_a_ascii, a_idx), pick(p_.word_a, a_idx))
    word_b = choose_where(kind == 3, pick(p_.word_b_typo, b_idx), pick(p_.word_b, b_idx))
    which = np.where(kind == 1, 1 + (rng.random(len(a_idx)) < 0.5), 0)
    suffix = choose_where(which == 1, pick(p_.suffix[1], suffix_row), pick(p_.suffix[0], suffix_row))
    suffix = choose_where(which == 2, pick(p_.suffix[2], suffix_row), suffix)
    stem = join(word_a, word_b, sep="")
    name = choose_where(kind == 5, stem, join(stem, suffix, sep=" "))
    return choose_where(kind == 2, pc.utf8_upper(name), name)


def email_variant(rng: np.random.Generator, canonical: pa.Array, missing_share: float, case_share: float) -> pa.Array:
    """The canonical (lower-case) e-mail with case changes and some missing."""
    u = rng.random(len(canonical))
    upper_first = choose_where(u < case_share / 2, pc.utf8_capitalize(canonical), canonical)
    varied = choose_where((u >= case_share / 2) & (u < case_share), pc.utf8_upper(canonical), upper_first)
    return null_where(varied, rng.random(len(canonical)) < missing_share)


PHONE_FORMATS = ["e164", "intl_spaced", "national_dash", "national_paren", "intl_00", "national_space"]


def phone_variant(rng: np.random.Generator, calling: pa.Array, area: pa.Array, subscriber: pa.Array,
                  weights: dict[str, float]) -> pa.Array:
    """One phone number written the way a system or a person types it.

    ``+49 30 1234567``, ``030-1234567``, ``(030) 1234 567``, ``0049301234567``...
    """
    p = np.array([weights.get(k, 0.0) for k in PHONE_FORMATS])
    kind = rng.choice(len(PHONE_FORMATS), size=len(subscriber), p=p / p.sum())
    head = pc.utf8_slice_codeunits(subscriber, 0, 4)
    tail = pc.utf8_slice_codeunits(subscriber, 4)
    out = join("+", calling, area, subscriber)
    out = choose_where(kind == 1, join(join("+", calling), area, subscriber, sep=" "), out)
    out = choose_where(kind == 2, join(join("0", area), subscriber, sep="-"), out)
    out = choose_where(kind == 3, join(join("(0", area, ")"), head, tail, sep=" "), out)
    out = choose_where(kind == 4, join("00", calling, area, subscriber), out)
    out = choose_where(kind == 5, join(join("0", area), subscriber, sep=" "), out)
    return out
