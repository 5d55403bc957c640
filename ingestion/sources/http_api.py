"""HTTP API source kind: land a paginated JSON API's new records as ``<entity>.page-NNNN.jsonl``.

The protocol it speaks (documented for anyone writing a source system or a test peer)::

    GET {base_url}/{entity}?page_size=N[&updated_since=<cursor>]
    200  {"data": [{...record...}, ...], "next": "<absolute or relative URL>" | null}

* ``updated_since`` is left out on the first run (no stored cursor): the API returns every
  record. Afterwards it is the largest ``updated_at`` landed so far, sent back exactly as the
  API wrote it; the API is expected to return records with ``updated_at > updated_since``
  (an API that uses ``>=`` re-sends the boundary records, which the loader's row hash shows as
  repeats). The API owns the late-commit problem on its side of the wire.
* Pagination: follow ``next`` (resolved against the page's URL; it must stay on the same
  scheme, host and port as ``base_url``, so headers with credentials never leave it) until it
  is null or missing. Token style is accepted too: ``{"data": [...], "next_cursor": "abc"}``
  makes the next request the first URL plus ``&cursor=abc``. Loops are bounded by
  ``max_pages`` and by refusing to fetch the same URL twice.
* Landing: each non-empty API page becomes one file, records as JSON lines (UTF-8, one
  object per line, fields as delivered). Empty pages land nothing; a run with no records lands
  no file and keeps the cursor. Pages are first written under ``<landing>/.crmwh-staging/``
  and moved into ``<landing>/<system>/<night>/`` only after the *last* page arrived; numbering
  continues after pages already in that folder (a re-run of the night adds, never overwrites).
  The cursor (max ``updated_at`` of all landed records, compared as instants when ISO 8601,
  as numbers when numeric) is stored only after every page is in place, so a failure on page 7
  lands nothing and moves nothing: the next run starts from the same cursor.
* Failures: 5xx, 429, timeouts and dropped connections are retried with exponential back-off
  (``backoff_seconds * 2**n``; ``retries`` counts the tries after the first, per request).
  Other 4xx, a body that is not JSON or not ``{"data": [...]}``, and the last failed retry raise
  a one-line ``CrmwhError`` naming the URL and what to do.

Standard library only (``urllib.request``).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from crmwh.errors import CrmwhError
from ingestion.sources.cursors import CursorStore
from ingestion.sources.result import (
    ExtractResult,
    check_names,
    last_page_number,
    new_staging_dir,
    night_folder,
    publish,
    remove_staging_dir,
)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
RETRYABLE_STATUS = {429} | set(range(500, 600))
USER_AGENT = "crmwh-extract/1"


def _shown(url: str) -> str:
    """The URL for messages and the ledger, without any ``user:password@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only on the API's own origin, so credentials in headers stay there."""

    def __init__(self, origin: tuple[str, str], source: str) -> None:
        self.origin = origin
        self.source = source

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if _origin(urljoin(req.full_url, newurl)) != self.origin:
            raise CrmwhError(f"{self.source}: {_shown(req.full_url)} redirects to another host ({_shown(newurl)}); point base_url at the final API address")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _order_key(value: Any) -> tuple[int, Any] | None:
    """How cursor values compare: numbers as numbers, ISO 8601 as instants (naive = UTC), else as text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            return (2, value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return (1, moment)
    return None


def _cursor_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Fetcher:
    """GET with bounded retries; returns the parsed JSON page."""

    def __init__(self, source: str, base_url: str, *, timeout: float, retries: int, backoff_seconds: float, headers: dict | None) -> None:
        self.source = source
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        self.requests = 0
        origin = _origin(base_url)
        handlers: list[urllib.request.BaseHandler] = [_SameOriginRedirects(origin, source)]
        if urlsplit(base_url).hostname in LOOPBACK_HOSTS:
            handlers.append(urllib.request.ProxyHandler({}))  # never send loopback traffic to a proxy
        self.opener = urllib.request.build_opener(*handlers)

    def get_json(self, url: str) -> Any:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            self.requests += 1
            request = urllib.request.Request(url, headers=self.headers, method="GET")
            try:
                with self.opener.open(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as error:
                status = f"{error.code} {error.reason}"
                error.close()
                if error.code in RETRYABLE_STATUS:
                    last = status
                    continue
                raise CrmwhError(
                    f"{self.source}: GET {_shown(url)} returned {status}; check base_url, the entity name and the credentials in headers"
                ) from None
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
                reason = getattr(error, "reason", None) or error
                last = f"{type(error).__name__}: {str(reason).strip() or type(reason).__name__}"
                continue
            try:
                return json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise CrmwhError(
                    f"{self.source}: GET {_shown(url)} returned a body that is not JSON ({str(error).splitlines()[0]}); "
                    "check that base_url points at the JSON API"
                ) from None
        raise CrmwhError(
            f"{self.source}: GET {_shown(url)} failed after {self.retries + 1} attempts (last: {last}); "
            "check the API is up and reachable, then re-run (nothing was landed, the cursor did not move)"
        )


def extract_api(
    base_url: str,
    *,
    system: str,
    entity: str,
    night: date,
    landing_dir: Path,
    cursors: CursorStore,
    page_size: int = 1000,
    timeout: float = 30,
    retries: int = 4,
    backoff_seconds: float = 0.5,
    headers: dict | None = None,
    cursor_field: str = "updated_at",
    max_pages: int = 100_000,
) -> ExtractResult:
    """Land the API's records changed since the stored cursor; see the module docstring."""
    check_names("http", system, entity)
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        raise CrmwhError(f"http source {system}/{entity}: base_url {_shown(base_url)!r} must be an http(s) URL like https://api.example.com/v1")
    if page_size < 1 or max_pages < 1:
        raise CrmwhError(f"http source {system}/{entity}: page_size and max_pages must be at least 1")
    source = f"http source {system}/{entity}"
    previous = cursors.get(system, entity)
    origin = _origin(base_url)

    params: dict[str, str] = {"page_size": str(page_size)}
    if previous is not None:
        params["updated_since"] = previous
    first_url = f"{base_url.rstrip('/')}/{quote(entity)}?{urlencode(params)}"
    fetcher = _Fetcher(source, base_url, timeout=timeout, retries=retries, backoff_seconds=backoff_seconds, headers=headers)

    staging = new_staging_dir(Path(landing_dir), system, entity)
    try:
        staged: list[tuple[Path, str, int]] = []  # (file, URL, records)
        best_key: tuple[int, Any] | None = _order_key(previous) if previous is not None else None
        best_value: str | None = previous
        seen: set[str] = set()
        url: str | None = first_url
        while url is not None:
            if len(seen) >= max_pages:
                raise CrmwhError(f"{source}: more than {max_pages} pages; raise max_pages or check the API's 'next' links")
            if url in seen:
                raise CrmwhError(f"{source}: pagination loops back to {_shown(url)}; check the API's 'next' links")
            seen.add(url)
            page = fetcher.get_json(url)
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise CrmwhError(f"{source}: GET {_shown(url)} did not return an object with a 'data' list; check the API follows the documented protocol")
            records = page["data"]
            if records:
                path = staging / f"{entity}.page-{len(staged) + 1:04d}.jsonl"
                with open(path, "w", encoding="utf-8") as handle:
                    for number, record in enumerate(records, start=1):
                        if not isinstance(record, dict):
                            raise CrmwhError(f"{source}: GET {_shown(url)} record {number} is not a JSON object; check the API")
                        handle.write(_json_line(record))
                        handle.write("\n")
                        key = _order_key(record.get(cursor_field))
                        if key is not None and (best_key is None or key > best_key):
                            best_key, best_value = key, _cursor_text(record[cursor_field])
                staged.append((path, url, len(records)))
            url = _next_url(page, url, first_url, origin, source)

        rows = sum(count for _, _, count in staged)
        if rows == 0:
            return ExtractResult(system, entity, night, 0, [], [], previous, previous, fetcher.requests)
        folder = night_folder(Path(landing_dir), system, night)
        start = last_page_number(folder, entity)
        landed: list[Path] = []
        for offset, (path, _, _) in enumerate(staged, start=1):
            target = folder / f"{entity}.page-{start + offset:04d}.jsonl"
            publish(path, target)
            landed.append(target)
    except OSError as error:
        raise CrmwhError(f"{source}: could not write a landed file ({error}); check free space and permissions of {landing_dir}") from None
    finally:
        remove_staging_dir(staging)

    # Every page is in place: only now may the cursor move.
    if best_value is not None and best_value != previous:
        cursors.set(system, entity, best_value)
    return ExtractResult(system, entity, night, rows, landed, [_shown(u) for _, u, _ in staged], best_value, previous, fetcher.requests)


def _json_line(record: dict) -> str:
    """One record as a JSON line, UTF-8 text as delivered.

    A string with a lone surrogate (``"\\ud800"``: valid JSON, not encodable as UTF-8) would
    crash the UTF-8 write; such a record keeps its escapes (``ensure_ascii``) instead.
    """
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
    return line


def _next_url(page: dict, url: str, first_url: str, origin: tuple[str, str], source: str) -> str | None:
    link = page.get("next")
    if link:
        if not isinstance(link, str):
            raise CrmwhError(f"{source}: GET {_shown(url)} has a 'next' that is not a URL string; check the API")
        target = urljoin(url, link)
        if _origin(target) != origin:
            raise CrmwhError(f"{source}: GET {_shown(url)} points 'next' at another host ({_shown(target)}); the API must page on its own address")
        return target
    token = page.get("next_cursor")
    if token:
        parts = urlsplit(first_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
        query.append(("cursor", str(token)))
        return urlunsplit(parts._replace(query=urlencode(query)))
    return None
