"""A BI-like reader of the published warehouse, run as its own process by the reliability tests.

``reconnect`` mode opens the file read-only, runs the query, closes, again and again (a dashboard
refreshing); ``held`` mode keeps one read-only connection open (an analyst's session). Each read
checks that the night the file says it published (``audit.nights``) is the night its mart was
built as of, i.e. that the reader saw one whole published version. Before the first publish the
file does not exist yet: that is waiting, not a failed read.

    python -m crmwh.reliability.reader PATH MODE STOP_FILE STATUS_FILE [MAX_SECONDS] [PAUSE_SECONDS]

Prints one JSON line at the end: reads, failed reads (with the first messages), inconsistent
reads, and the published nights seen in order; ``STATUS_FILE`` is rewritten with the same JSON
whenever a new night is seen, so a test can wait for a version without stopping the reader.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

QUERY = """
select
    (select max(logical_date) from audit.nights where published)::varchar as published_night,
    (select max(as_of_date) from marts.customer_value)::varchar as mart_as_of,
    (select count(*) from marts.customer_value) as mart_rows
"""


def main(argv: list[str]) -> int:
    path, mode, stop, status = Path(argv[0]), argv[1], Path(argv[2]), Path(argv[3])
    seconds = float(argv[4]) if len(argv) > 4 else 600.0
    pause = float(argv[5]) if len(argv) > 5 else 0.01
    result: dict = {"mode": mode, "reads": 0, "failed": 0, "failures": [], "inconsistent": [], "nights": []}
    deadline = time.monotonic() + seconds
    held = None
    while time.monotonic() < deadline and not stop.exists():
        if not path.exists():  # nothing published yet
            time.sleep(0.05)
            continue
        try:
            if mode == "held":
                held = held or duckdb.connect(str(path), read_only=True)
                con = held
            else:
                con = duckdb.connect(str(path), read_only=True)
            try:
                night, mart_as_of, mart_rows = con.execute(QUERY).fetchone()
            finally:
                if con is not held:
                    con.close()
        except Exception as exc:  # noqa: BLE001 - every failed read is counted and reported
            result["failed"] += 1
            if len(result["failures"]) < 5:
                result["failures"].append(f"{type(exc).__name__}: {exc}")
            continue
        result["reads"] += 1
        if night != mart_as_of or not mart_rows:
            result["inconsistent"].append([night, mart_as_of, mart_rows])
        if night not in result["nights"]:
            result["nights"].append(night)
            status.write_text(json.dumps(result))
        time.sleep(pause)
    if held is not None:
        held.close()
    status.write_text(json.dumps(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
