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


def _ids_tonight(landing: Path, night: dt.date, entity: str, id_field: str) -> set[str]:
    folder = landing / "crm" / night.isoformat()
    return {record[id_field] for path in folder.glob(f"{entity}*.jsonl") for record in landed_records(path)}


def _business_accounts_with_contacts(con: duckdb.DuckDBPyConnection, condition: str, params: list,
                                     having: str = "true") -> list[tuple[str, list[str]]]:
    """(account_id, its contact ids) of the staged business accounts meeting ``condition``, by account_id."""
    return con.execute(f"""
        select a.account_id, list(c.contact_id order by c.contact_id) as contact_ids
        from staging.stg_crm__accounts as a
        inner join staging.stg_crm__contacts as c on c.account_id = a.account_id
        where a.account_type = 'business' and ({condition})
        group by a.account_id
        having {having}
        order by a.account_id""", params).fetchall()


def _redeliver(landing: Path, night: dt.date, entity: str, id_field: str, record_id: str, changes: dict) -> None:
    """Append to ``night``'s page of ``entity`` the record as first delivered, with ``changes``, updated that night."""
    delivered = next(record for path in sorted(landing.glob(f"crm/*/{entity}*.jsonl")) for record in landed_records(path)
                     if record[id_field] == record_id)
    changed = {**delivered, **changes, "updated_at": f"{night.isoformat()}T09:00:00Z"}
    with (landing / "crm" / night.isoformat() / f"{entity}.page-0001.jsonl").open("a") as handle:
        handle.write(json.dumps(changed) + "\n")


def move_an_account(database: Path, landing: Path, night: dt.date) -> tuple[str, list[str]]:
    """Re-deliver on ``night`` one business account of the build ``database`` (core data of
    earlier nights) with its city changed to NEW_CITY; none of its contacts comes that night.

    Its contacts' identity records carry the account's city: they must change although no
    contact record does. Returns (account_id, the contacts' node ids).
    """
    contacts_tonight = _ids_tonight(landing, night, "contacts", "contact_id")
    con = duckdb.connect(str(database), read_only=True)
    try:
        candidates = _business_accounts_with_contacts(con, "a.city is distinct from ?", [NEW_CITY])
    finally:
        con.close()
    account_id, contact_ids = next((a, c) for a, c in candidates if not contacts_tonight & set(c))
    _redeliver(landing, night, "accounts", "account_id", account_id, {"city": NEW_CITY})
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
    accounts_tonight = _ids_tonight(landing, night, "accounts", "account_id")
    contacts_tonight = _ids_tonight(landing, night, "contacts", "contact_id")
    con = duckdb.connect(str(database), read_only=True)
    try:
        candidates = _business_accounts_with_contacts(con, """('crm:accounts:' || a.account_id) in (
            select node_id from staging.int_identity__nodes
            where company_name_norm is not null and city_norm is not null)""", [], having="count(*) = 2")
        account_id, (stays, moves) = next((a, c) for a, c in candidates
                                          if a not in accounts_tonight and not contacts_tonight & set(c))
        other_accounts = con.execute("""
            select account_id from staging.stg_crm__accounts
            where account_type = 'business' and account_name <> (
                select account_name from staging.stg_crm__accounts where account_id = ?)
            order by account_id""", [account_id]).fetchall()
    finally:
        con.close()
    new_account = next(a for (a,) in other_accounts if a not in accounts_tonight)
    _redeliver(landing, night, "contacts", "contact_id", moves, {"account_id": new_account})
    return f"crm:accounts:{account_id}", f"crm:contacts:{stays}"
