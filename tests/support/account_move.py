"""Move CRM records on a later night: an account to another city (without its contacts), a contact to another account."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

NEW_CITY = "Neustadt Testhausen"


def landed_records(path: Path) -> list[dict]:
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the simulator's deliberately broken lines, which the loader quarantines
    return records


def move_an_account(database: Path, landing: Path, night: dt.date) -> tuple[str, list[str]]:
    """Re-deliver on ``night`` one business account of the build ``database`` (core data of
    earlier nights) with its city changed to NEW_CITY; none of its contacts comes that night.

    Its contacts' identity records carry the account's city: they must change although no
    contact record does. Returns (account_id, the contacts' node ids).
    """
    folder = landing / "crm" / night.isoformat()
    contacts_tonight = {record["contact_id"] for path in folder.glob("contacts*.jsonl") for record in landed_records(path)}
    con = duckdb.connect(str(database), read_only=True)
    try:
        candidates = con.execute("""
            select a.account_id, list(c.contact_id order by c.contact_id) as contact_ids
            from staging.stg_crm__accounts as a
            inner join staging.stg_crm__contacts as c on c.account_id = a.account_id
            where a.account_type = 'business' and a.city is distinct from ?
            group by a.account_id
            order by a.account_id""", [NEW_CITY]).fetchall()
    finally:
        con.close()
    account_id, contact_ids = next((a, c) for a, c in candidates if not contacts_tonight & set(c))
    delivered = next(record for path in sorted(landing.glob("crm/*/accounts*.jsonl")) for record in landed_records(path)
                     if record["account_id"] == account_id)
    moved = {**delivered, "city": NEW_CITY, "updated_at": f"{night.isoformat()}T09:00:00Z"}
    with (folder / "accounts.page-0001.jsonl").open("a") as handle:
        handle.write(json.dumps(moved) + "\n")
    return account_id, [f"crm:contacts:{contact_id}" for contact_id in contact_ids]


def move_a_contact_out_of_an_ambiguous_key(database: Path, landing: Path, night: dt.date) -> tuple[str, str]:
    """Re-deliver on ``night`` one contact of a business account with two contacts under another account.

    Before, the account and both contacts carry the account's company name + city, a key two
    records of one entity (crm:contacts) share: ambiguous, it links nothing. With one contact
    gone it links the other contact and the account, though neither record changes that night
    (the incremental attribute links must find the key through the moved contact's old key).
    Accounts and contacts delivered that night are left alone. Returns the node ids of the
    account and of the contact that stayed.
    """
    folder = landing / "crm" / night.isoformat()
    accounts_tonight = {record["account_id"] for path in folder.glob("accounts*.jsonl") for record in landed_records(path)}
    contacts_tonight = {record["contact_id"] for path in folder.glob("contacts*.jsonl") for record in landed_records(path)}
    con = duckdb.connect(str(database), read_only=True)
    try:
        candidates = con.execute("""
            select a.account_id, list(c.contact_id order by c.contact_id) as contact_ids
            from staging.stg_crm__accounts as a
            inner join staging.stg_crm__contacts as c on c.account_id = a.account_id
            where a.account_type = 'business'
                and ('crm:accounts:' || a.account_id) in (
                    select node_id from staging.int_identity__nodes
                    where company_name_norm is not null and city_norm is not null)
            group by a.account_id
            having count(*) = 2
            order by a.account_id""").fetchall()
        account_id, (stays, moves) = next((a, c) for a, c in candidates
                                          if a not in accounts_tonight and not contacts_tonight & set(c))
        other_account = con.execute("""
            select account_id from staging.stg_crm__accounts
            where account_type = 'business' and account_name <> (
                select account_name from staging.stg_crm__accounts where account_id = ?)
            order by account_id""", [account_id]).fetchall()
    finally:
        con.close()
    new_account = next(a for (a,) in other_account if a not in accounts_tonight)
    delivered = next(record for path in sorted(landing.glob("crm/*/contacts*.jsonl")) for record in landed_records(path)
                     if record["contact_id"] == moves)
    moved = {**delivered, "account_id": new_account, "updated_at": f"{night.isoformat()}T09:00:00Z"}
    with (folder / "contacts.page-0001.jsonl").open("a") as handle:
        handle.write(json.dumps(moved) + "\n")
    return f"crm:accounts:{account_id}", f"crm:contacts:{stays}"
