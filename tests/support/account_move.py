"""Move a CRM account to another city on a later night, without re-delivering its contacts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

NEW_CITY = "Neustadt Testhausen"


def _records(path: Path) -> list[dict]:
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
    contacts_tonight = {record["contact_id"] for path in folder.glob("contacts*.jsonl") for record in _records(path)}
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
    delivered = next(record for path in sorted(landing.glob("crm/*/accounts*.jsonl")) for record in _records(path)
                     if record["account_id"] == account_id)
    moved = {**delivered, "city": NEW_CITY, "updated_at": f"{night.isoformat()}T09:00:00Z"}
    with (folder / "accounts.page-0001.jsonl").open("a") as handle:
        handle.write(json.dumps(moved) + "\n")
    return account_id, [f"crm:contacts:{contact_id}" for contact_id in contact_ids]
