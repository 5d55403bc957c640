"""The paginated HTTP API source kind against a real local HTTP server (tests/support/http_api_server.py)."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crmwh.errors import CrmwhError
from ingestion.sources.cursors import CursorStore
from ingestion.sources.http_api import extract_api

try:
    from support.http_api_server import ApiServer
    from support.postgres_server import free_port
except ImportError:  # tests/ became a package
    from tests.support.http_api_server import ApiServer
    from tests.support.postgres_server import free_port

NIGHT1, NIGHT2, NIGHT3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)


def ticket(number: int, updated_at: str, **extra: object) -> dict:
    return {"id": number, "subject": f"ticket {number} \u00e9", "updated_at": updated_at, **extra}


@pytest.fixture
def api():
    records = {"tickets": [ticket(i, f"2026-11-19T{i // 60:02d}:{i % 60:02d}:00Z") for i in range(1, 26)], "empty": []}
    with ApiServer(records) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> CursorStore:
    return CursorStore(tmp_path / "state" / "cursors.json")


def read_jsonl(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def night_dir(landing: Path, night: date) -> Path:
    return landing / "helpdesk" / night.isoformat()


def test_multi_page_incremental(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    common = dict(system="helpdesk", entity="tickets", landing_dir=landing, cursors=store, page_size=10)

    first = extract_api(api.base_url, night=NIGHT1, **common)
    assert first.rows == 25
    assert [p.name for p in first.paths] == ["tickets.page-0001.jsonl", "tickets.page-0002.jsonl", "tickets.page-0003.jsonl"]
    assert [len(read_jsonl(p)) for p in first.paths] == [10, 10, 5]
    ids = [r["id"] for p in first.paths for r in read_jsonl(p)]
    assert ids == list(range(1, 26))
    assert read_jsonl(first.paths[0])[0] == ticket(1, "2026-11-19T00:01:00Z")
    assert first.cursor == "2026-11-19T00:25:00Z" == store.get("helpdesk", "tickets")
    assert "updated_since" not in parse_qs(urlsplit(api.requests[0]).query)
    assert len(first.locations) == 3 and first.locations[1].startswith(api.base_url + "/tickets?")

    api.records["tickets"].append(ticket(26, "2026-11-20T08:00:00Z"))
    api.records["tickets"][4] = ticket(5, "2026-11-20T07:00:00Z", status="closed")
    api.requests.clear()
    second = extract_api(api.base_url, night=NIGHT2, **common)
    assert parse_qs(urlsplit(api.requests[0]).query)["updated_since"] == ["2026-11-19T00:25:00Z"]
    assert second.rows == 2 and len(second.paths) == 1
    assert [(r["id"], r.get("status")) for r in read_jsonl(second.paths[0])] == [(5, "closed"), (26, None)]
    assert second.cursor == "2026-11-20T08:00:00Z" == store.get("helpdesk", "tickets")

    third = extract_api(api.base_url, night=NIGHT3, **common)
    assert third.rows == 0 and third.paths == [] and third.cursor == second.cursor
    assert not night_dir(landing, NIGHT3).exists()
    assert not (landing / ".crmwh-staging").exists()


def test_empty_result_lands_nothing(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    result = extract_api(api.base_url, system="helpdesk", entity="empty", night=NIGHT1, landing_dir=tmp_path, cursors=store)
    assert result.rows == 0 and result.paths == [] and result.cursor is None
    assert store.all() == {} and not (tmp_path / "helpdesk").exists()


def test_two_server_errors_then_recovery(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    api.fail_next(2, 500)
    started = time.monotonic()
    result = extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                         cursors=store, page_size=10, backoff_seconds=0.05)
    assert time.monotonic() - started >= 0.05 + 0.1, "back-off doubles between tries"
    assert result.rows == 25 and result.attempts == 3 + 2
    assert len(api.requests) == 5


def test_retries_run_out_on_persistent_5xx(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    api.fail_next(10, 503)
    with pytest.raises(CrmwhError) as caught:
        extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                    cursors=store, retries=2, backoff_seconds=0.01)
    message = str(caught.value)
    assert "\n" not in message and "after 3 attempts" in message and "503" in message
    assert len(api.requests) == 3


def test_not_found_is_a_one_line_error_without_retries(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    with pytest.raises(CrmwhError) as caught:
        extract_api(api.base_url + "/v2", system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                    cursors=store, backoff_seconds=5)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"http source helpdesk/tickets: GET {api.base_url}/v2/tickets?page_size=1000 returned 404")
    assert len(api.requests) == 1


def test_invalid_json_names_the_url_and_moves_nothing(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    api.break_offset[10] = "invalid_json"
    with pytest.raises(CrmwhError) as caught:
        extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                    cursors=store, page_size=10)
    message = str(caught.value)
    assert "\n" not in message and "not JSON" in message
    assert f"GET {api.base_url}/tickets?page_size=10&offset=10 " in message
    assert store.get("helpdesk", "tickets") is None
    assert not night_dir(tmp_path, NIGHT1).exists(), "page 1 is not landed when page 2 fails"


def test_cursor_stays_when_a_later_page_fails_and_the_rerun_catches_up(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    common = dict(system="helpdesk", entity="tickets", landing_dir=tmp_path, cursors=store, page_size=10, backoff_seconds=0.01)
    extract_api(api.base_url, night=NIGHT1, **common)
    cursor = store.get("helpdesk", "tickets")
    api.records["tickets"].extend(ticket(100 + i, f"2026-11-20T10:{i:02d}:00Z") for i in range(15))
    api.break_offset[10] = 500  # the second page of the new records never works
    with pytest.raises(CrmwhError, match="failed after 3 attempts"):
        extract_api(api.base_url, night=NIGHT2, retries=2, **common)
    assert store.get("helpdesk", "tickets") == cursor
    assert not night_dir(tmp_path, NIGHT2).exists()

    del api.break_offset[10]
    rerun = extract_api(api.base_url, night=NIGHT2, **common)
    assert rerun.previous_cursor == cursor and rerun.rows == 15
    assert [p.name for p in rerun.paths] == ["tickets.page-0001.jsonl", "tickets.page-0002.jsonl"]
    assert store.get("helpdesk", "tickets") == "2026-11-20T10:14:00Z"


def test_rerun_in_same_night_continues_page_numbers(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    common = dict(system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path, cursors=store, page_size=10)
    first = extract_api(api.base_url, **common)
    api.records["tickets"].append(ticket(40, "2026-11-20T00:00:00Z"))
    second = extract_api(api.base_url, **common)
    assert [p.name for p in second.paths] == ["tickets.page-0004.jsonl"]
    assert all(p.exists() for p in first.paths)


def test_token_style_pagination(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    api.token_style = True
    result = extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                         cursors=store, page_size=7)
    assert result.rows == 25 and [len(read_jsonl(p)) for p in result.paths] == [7, 7, 7, 4]
    assert parse_qs(urlsplit(api.requests[-1]).query)["cursor"] == ["21"]


def test_next_link_to_another_host_is_refused(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    original = api.respond

    def respond(raw_path: str):
        status, body = original(raw_path)
        if isinstance(body, dict) and body.get("next"):
            body["next"] = "http://127.0.0.2:9/steal" + body["next"]
        return status, body

    api.respond = respond  # type: ignore[method-assign]
    with pytest.raises(CrmwhError, match="points 'next' at another host"):
        extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                    cursors=store, page_size=10)


def test_connection_refused_is_retried_then_reported(store: CursorStore, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CrmwhError) as caught:
        extract_api(url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path, cursors=store,
                    retries=1, backoff_seconds=0.01, timeout=2)
    message = str(caught.value)
    assert "\n" not in message and "after 2 attempts" in message and "refused" in message.lower()


def test_pagination_loop_is_bounded(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    original = api.respond

    def respond(raw_path: str):
        status, body = original(raw_path)
        body["next"] = "/tickets?page_size=10&offset=10"  # page 2 links to itself
        return status, body

    api.respond = respond  # type: ignore[method-assign]
    with pytest.raises(CrmwhError, match="pagination loops back"):
        extract_api(api.base_url, system="helpdesk", entity="tickets", night=NIGHT1, landing_dir=tmp_path,
                    cursors=store, page_size=10, max_pages=50)
    assert len(api.requests) == 2


def test_unsafe_names_are_refused(api: ApiServer, store: CursorStore, tmp_path: Path) -> None:
    with pytest.raises(CrmwhError, match="entity name '../x' is not allowed"):
        extract_api(api.base_url, system="helpdesk", entity="../x", night=NIGHT1, landing_dir=tmp_path, cursors=store)
