"""JSON-lines splitting (ingestion.jsonl) and the loader's parse-ahead (ingestion.ahead)."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.ahead import ordered_ahead
from ingestion.jsonl import _lines_table, parse_jsonl

# Bytes that make splitting hard: line ends of both kinds, JSON whitespace, a byte-order mark
# anywhere, text that is and is not UTF-8.
PIECES = [b"\n", b"\r", b"\r\n", b" ", b"\t", b"\x0b", b"\x0c", b"{", b"}", b"a", b"\xc3\xa9", b"\xe9",
          b"\xef\xbb\xbf", b'"']


def reference_lines(data: bytes) -> list[tuple[int, str | None]]:
    """(line number, text without its line end) of each non-blank line; None for text that is not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip(b" \t\n\x0b\x0c\r"):
            continue
        try:
            text = line.rstrip(b"\r\n").decode("utf-8")
        except UnicodeDecodeError:
            text = None
        lines.append((number, text))
    return lines


def test_lines_match_a_plain_split_of_random_bytes(tmp_path: Path) -> None:
    con = duckdb.connect()
    generator = random.Random(20261124)
    path = tmp_path / "page.jsonl"
    for _ in range(500):
        data = b"".join(generator.choice(PIECES) for _ in range(generator.randint(0, 30)))
        if generator.random() < 0.3:
            data = b"\xef\xbb\xbf" + data
        path.write_bytes(data)
        table, text_sql, _ = _lines_table(path)
        con.register("lines", table)
        got = con.execute(f"select line_no, {text_sql} from lines where not is_blank order by line_no").fetchall()
        assert got == reference_lines(data), data


def test_parse_keeps_every_line_as_a_record_or_a_reject(tmp_path: Path) -> None:
    path = tmp_path / "page.jsonl"
    path.write_bytes(
        b'{"id": "1", "Name": "a"}\n'
        b"\n"
        b'{"id": "2", "name": "b"}\r\n'
        b"not json\n"
        b'{"id": "3", "ID": "x"}\n'
        b'{"id": "4", "_night": "x"}\n'
        b'{"id": "5", "name": "caf\xe9"}\n'
        b"[1, 2]\n"
    )
    parsed = parse_jsonl(path, None)
    assert parsed.fields == ["Name", "id"]  # by first line, then name
    assert parsed.records is not None
    assert parsed.records.column("line_no").to_pylist() == [1, 3]
    assert parsed.records.column("field_1").to_pylist() == ["a", "b"]  # both spellings fill one column
    rejects = dict(zip(parsed.rejects.column("line").to_pylist(), parsed.rejects.column("reason_code").to_pylist()))
    assert rejects == {4: "MALFORMED_JSON", 5: "DUPLICATE_KEY", 6: "RESERVED_FIELD_NAME", 7: "INVALID_ENCODING",
                       8: "NOT_AN_OBJECT"}


def test_ordered_ahead_keeps_order_and_bounds_the_work_waiting() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            started.append(item)
        time.sleep(0.001 * (item % 3))  # later items may finish first
        return item * 10

    results = ordered_ahead(work, range(50), workers=2, depth=4)
    assert next(results) == 0
    time.sleep(0.05)
    assert len(started) <= 5  # the one taken, and at most `depth` waiting
    assert list(results) == [item * 10 for item in range(1, 50)]


def test_ordered_ahead_passes_on_an_error_and_stops_the_rest() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 3:
            raise ValueError("page 3 is bad")
        return item

    with pytest.raises(ValueError, match="page 3"):
        list(ordered_ahead(work, range(1000), workers=2, depth=4))
    assert len(started) < 20
