"""A local paginated JSON API (the protocol of ``ingestion.sources.http_api``) for tests.

Serves ``GET /<entity>?page_size=N[&updated_since=T][&offset=K | &cursor=K]`` from in-memory
records on 127.0.0.1 (port chosen by the OS) in a background thread. Records come back
ordered by ``(updated_at, id)``, filtered by ``updated_at > updated_since`` (ISO 8601 strings
of one format compare as text). Knobs for failure tests:

* ``fail_next(n, status)``: the next ``n`` requests get ``status`` (e.g. two 500s);
* ``break_offset[offset] = "invalid_json" | <status>``: the page starting at that offset is
  always broken (until removed);
* ``token_style = True``: pages carry ``next_cursor`` instead of a ``next`` URL.

Every request's path is kept in ``requests`` for assertions.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class ApiServer:
    def __init__(self, records: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.records: dict[str, list[dict[str, Any]]] = records or {}
        self.requests: list[str] = []
        self.break_offset: dict[int, Any] = {}
        self.token_style = False
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def start(self) -> ApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, body = server.respond(self.path)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, raw_path: str) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(raw_path)
            if self._failures:
                status = self._failures.pop(0)
                return status, {"error": f"injected {status}"}
        parts = urlsplit(raw_path)
        entity = parts.path.strip("/")
        if entity not in self.records:
            return 404, {"error": f"no such entity {entity!r}"}
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        page_size = int(query.get("page_size", "100"))
        offset = int((query.get("cursor") if self.token_style else query.get("offset")) or 0)
        broken = self.break_offset.get(offset)
        if broken == "invalid_json":
            return 200, b'{"data": [ {"id": 1,'
        if isinstance(broken, int):
            return broken, {"error": "broken page"}
        since = query.get("updated_since")
        selected = sorted(
            (r for r in self.records[entity] if since is None or r["updated_at"] > since),
            key=lambda r: (r["updated_at"], r.get("id")),
        )
        page = selected[offset : offset + page_size]
        more = offset + page_size < len(selected)
        body: dict[str, Any] = {"data": page}
        if self.token_style:
            body["next_cursor"] = str(offset + page_size) if more else None
        else:
            follow = {k: v for k, v in query.items() if k != "offset"}
            follow["offset"] = str(offset + page_size)
            body["next"] = f"/{entity}?{urlencode(follow)}" if more else None
        return 200, body
