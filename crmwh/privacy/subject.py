"""Who is being erased, and how a record, line or row is recognised as theirs.

An erasure subject is a set of identifiers (the person's source ids from
``core.bridge_customer_source_id``, their identity node ids, their warehouse
``customer_key``) plus salted SHA-256 hashes of their e-mail addresses and phone
numbers. Ids and hashes are what the tombstone (``audit.erasure_subjects``)
keeps, so later nights can recognise the person's records again; the personal
values themselves (``values``) only ever live in memory during one run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# Columns / fields that hold personal data of the record's own person (compared lower-case).
# City and country are kept: they are not identifying alone and the marts group by them.
PII_COLUMNS = frozenset({
    "first_name", "last_name", "full_name", "person_name", "person_name_norm",
    "customer_name", "account_name", "company", "company_name", "company_name_norm", "organization",
    "email", "email_norm", "visitor_email",
    "phone", "phone_number", "phone_e164", "caller_phone",
    "street", "vat_id", "vat_id_norm",
})
EMAIL_COLUMNS = frozenset({"email", "email_norm", "visitor_email"})
PHONE_COLUMNS = frozenset({"phone", "phone_number", "phone_e164", "caller_phone"})
# Columns whose value is a source id of the record itself or of the customer it belongs to:
# a row whose link column holds one of the person's ids is theirs. (Deliberately not
# ``referred_by_account_id`` and the like: a referral is somebody else's record.)
LINK_COLUMNS = frozenset({
    "account_id", "contact_id", "lead_id", "customer_id", "requester_id", "call_id", "registration_id",
    "visit_id", "visitor_id", "source_id", "founder_source_id", "customer_source_id", "crm_account_id",
    "converted_contact_id", "converted_account_id", "record_key",
})
NODE_COLUMNS = frozenset({"node_id", "node_id_a", "node_id_b", "founder_node_id", "anchor_node_id"})
CUSTOMER_COLUMNS = frozenset({"customer_key", "current_customer_key", "previous_customer_key"})
# Whole delivered lines kept as text (quarantine): theirs when one of the person's ids occurs as a token.
RAW_TEXT_COLUMNS = frozenset({"raw_record", "raw_value"})

HASH_SALT = "crmwh-erasure-v1:"
PLACEHOLDER_PREFIX = "erased-"
STRONG_MIN_LENGTH = 8  # shorter values (first names, short surnames) are only replaced in the person's own rows
PHONE_KEY_DIGITS = 9   # the last 9 digits: the same number written nationally or internationally


def email_key(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    return text if "@" in text else None


def phone_key(value: str | None) -> str | None:
    digits = re.sub(r"[^0-9]", "", value or "")
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= 7 else None


def salted_hash(key: str) -> str:
    return hashlib.sha256((HASH_SALT + key).encode()).hexdigest()


def is_strong(value: str) -> bool:
    """Values specific enough to replace wherever they occur in free text (e-mails, phones, full names)."""
    return len(value) >= STRONG_MIN_LENGTH or "@" in value or len(re.sub(r"[^0-9]", "", value)) >= 6


@dataclass(frozen=True)
class Subject:
    """One erasure: what identifies the person's rows, and (in memory only) their personal values."""

    token: str
    customer_key: str | None               # set when the whole customer is erased
    source_ids: frozenset[str]
    node_ids: frozenset[str]               # "<system>:<entity>:<id>"
    email_hashes: frozenset[str]
    phone_hashes: frozenset[str]
    values: frozenset[str] = field(default_factory=frozenset)
    same_customer_key: str | None = None   # --source-id: the customer whose rows may quote the values

    @property
    def placeholder(self) -> str:
        return PLACEHOLDER_PREFIX + self.token

    def with_values(self, values: set[str] | frozenset[str]) -> "Subject":
        cleaned = {value.strip() for value in values if value and len(value.strip()) >= 2}
        cleaned = {value for value in cleaned if not value.lower().startswith(PLACEHOLDER_PREFIX)}
        return Subject(self.token, self.customer_key, self.source_ids, self.node_ids, self.email_hashes,
                       self.phone_hashes, frozenset(self.values | cleaned), self.same_customer_key)

    def with_keys(self, emails: set[str], phones: set[str]) -> "Subject":
        return Subject(self.token, self.customer_key, self.source_ids, self.node_ids,
                       self.email_hashes | {salted_hash(key) for key in emails},
                       self.phone_hashes | {salted_hash(key) for key in phones}, self.values, self.same_customer_key)

    @property
    def strong_values(self) -> list[str]:
        return sorted((value for value in self.values if is_strong(value)), key=lambda v: (-len(v), v))

    @property
    def weak_values(self) -> list[str]:
        return sorted((value for value in self.values if not is_strong(value)), key=lambda v: (-len(v), v))

    def owns_fields(self, fields: dict[str, str | None]) -> bool:
        """Is a parsed record (lower-case field name -> text) the person's own?"""
        for name, value in fields.items():
            if value is None:
                continue
            if name in LINK_COLUMNS and value.strip() in self.source_ids:
                return True
            if name in NODE_COLUMNS and value.strip() in self.node_ids:
                return True
            if self.customer_key and name in CUSTOMER_COLUMNS and value.strip() == self.customer_key:
                return True
            if name in EMAIL_COLUMNS and (key := email_key(value)) and salted_hash(key) in self.email_hashes:
                return True
            if name in PHONE_COLUMNS and (key := phone_key(value)) and salted_hash(key) in self.phone_hashes:
                return True
        return False
