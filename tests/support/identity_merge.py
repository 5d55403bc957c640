"""Make two customers one: a source record whose e-mail is one customer's and whose phone is another's."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

MERGER_ID = "C9999001"


def add_merging_record(database: Path, landing: Path, night: dt.date,
                       with_rows_in: str | None = None) -> tuple[str, str]:
    """Append to ``night``'s ERP customers a consumer with customer X's e-mail and customer Y's phone.

    X and Y are two consumers of the build ``database`` (core.dim_customer); nothing links them
    before, since equal e-mails or phones would already have put them in one customer.
    ``with_rows_in``: a table with a customer_id column both must have rows in.
    Returns (older key, younger key): the build of ``night`` retires the younger into the older.
    """
    having_rows = f"and d.customer_key in (select customer_id from {with_rows_in})" if with_rows_in else ""
    con = duckdb.connect(str(database), read_only=True)
    try:
        pair = con.execute(f"""
            select d.customer_key, d.email, d.phone_e164, k.founder_first_seen_at
            from core.dim_customer as d
            inner join staging.int_identity__customer_keys as k on k.customer_key = d.customer_key
            where not d.is_unknown and d.customer_type = 'consumer' and d.email is not null and d.phone_e164 is not null
            {having_rows}
            order by d.customer_key
            limit 2""").df()
    finally:
        con.close()
    assert len(pair) == 2, "the data should have consumers with an e-mail and a phone"
    x, y = pair.iloc[0], pair.iloc[1]
    path = landing / "erp" / night.isoformat() / "customers.csv"
    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    row = {name: "" for name in header}
    phone_column = "phone" if "phone" in header else "phone_number"  # the simulator renames it on some nights
    row.update({"customer_id": MERGER_ID, "customer_name": "Merger Test", "customer_type": "consumer",
                "email": x["email"].upper(), phone_column: y["phone_e164"],
                "created_at": f"{night.isoformat()}T08:00:00Z", "updated_at": f"{night.isoformat()}T08:00:00Z"})
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=header, lineterminator="\n").writerow(row)
    older, younger = (x, y) if x["founder_first_seen_at"] <= y["founder_first_seen_at"] else (y, x)
    return str(older["customer_key"]), str(younger["customer_key"])
