"""Change why two records are linked while neither record changes: the reason swaps, the linked pair stays.

Night 1 gets a CRM business account and two ERP business customers with the same company name and
city (an ambiguous company name + city key: two ERP customers share it, so it links nothing) and an
ERP opportunity naming the first customer and the account (an erp_opportunity_account link). On a
later night the second customer moves to another city (the key now links the account and the first
customer) and the opportunity drops the account (its link goes): the account and the first customer
stay linked, by another reason, though neither record is delivered again.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from .account_move import landed_records

ACCOUNT_ID = "ACC-9999201"
CUSTOMER_ID = "C9999201"
OTHER_CUSTOMER_ID = "C9999202"
OPPORTUNITY_ID = "OPP99999201"
COMPANY = "Grundtausch Testwerke GmbH"
CITY = "Tauschstadt"
OTHER_CITY = "Anderstadt"
ACCOUNT_NODE, CUSTOMER_NODE = f"crm:accounts:{ACCOUNT_ID}", f"erp:customers:{CUSTOMER_ID}"


def _append_csv(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` under the file's own header (a night may rename columns: unnamed ones stay empty)."""
    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    missing = {name for row in rows for name, value in row.items() if value and name not in header}
    assert not missing, f"{path} has no column {sorted(missing)}"
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writerows([{name: row.get(name, "") for name in header} for row in rows])


def _erp_customer(customer_id: str, city: str, updated_at: str) -> dict:
    return {"customer_id": customer_id, "customer_name": COMPANY, "customer_type": "business", "city": city,
            "country": "DE", "created_at": "2026-10-30T08:00:00Z", "updated_at": updated_at}


def _opportunity(template: dict, crm_account_id: str, updated_at: str) -> dict:
    """The opportunity: ``template`` (owner, stage, amount as delivered) with our ids."""
    return {**template, "opportunity_id": OPPORTUNITY_ID, "customer_id": CUSTOMER_ID, "crm_account_id": crm_account_id,
            "lead_id": "", "campaign_id": "", "opportunity_name": f"{COMPANY} deal",
            "created_at": "2026-10-30T08:00:00Z", "updated_at": updated_at}


def _opportunities(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def add_records_linked_by_an_opportunity(landing: Path, first_night: dt.date) -> None:
    """Add the account, the two customers and the opportunity to ``first_night``'s files."""
    stamp = "2026-10-30T08:00:00Z"
    accounts = sorted((landing / "crm" / first_night.isoformat()).glob("accounts*.jsonl"))[0]
    template = landed_records(accounts)[0]
    account = {**{name: None for name in template}, "account_id": ACCOUNT_ID, "account_name": COMPANY,
               "account_type": "business", "city": CITY, "country": "DE", "owner_employee_id": template["owner_employee_id"],
               "created_at": stamp, "updated_at": stamp, "is_deleted": False}
    with accounts.open("a") as handle:
        handle.write(json.dumps(account) + "\n")
    erp = landing / "erp" / first_night.isoformat()
    _append_csv(erp / "customers.csv", [_erp_customer(CUSTOMER_ID, CITY, stamp), _erp_customer(OTHER_CUSTOMER_ID, CITY, stamp)])
    _append_csv(erp / "opportunities.csv", [_opportunity(_opportunities(erp / "opportunities.csv")[0], ACCOUNT_ID, stamp)])


def swap_the_link_reason(landing: Path, night: dt.date) -> tuple[str, str]:
    """On ``night``, move the second customer to another city and drop the account from the opportunity.

    Returns the node ids of the account and the first customer, linked before and after.
    """
    updated_at = f"{night.isoformat()}T09:00:00Z"
    erp = landing / "erp" / night.isoformat()
    _append_csv(erp / "customers.csv", [_erp_customer(OTHER_CUSTOMER_ID, OTHER_CITY, updated_at)])
    delivered = next(row for path in sorted(landing.glob("erp/*/opportunities.csv")) for row in _opportunities(path)
                     if row["opportunity_id"] == OPPORTUNITY_ID)
    _append_csv(erp / "opportunities.csv", [_opportunity(delivered, "", updated_at)])
    return ACCOUNT_NODE, CUSTOMER_NODE
