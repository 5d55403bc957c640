"""Failure notifications: the configured hook really delivers (webhook to a local server), logging is the default."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crmwh.pipeline.notify import failure_message, notify, on_task_failure


class _Ti:
    task_id = "erp.load_raw"


def test_webhook_receives_the_failure_as_json(monkeypatch):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output quiet
            pass

        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("CRMWH_NOTIFY", f"webhook:http://127.0.0.1:{server.server_address[1]}/hook")
        on_task_failure({"ds": "2026-11-21", "task_instance": _Ti(), "exception": RuntimeError("disk full")})
    finally:
        server.shutdown()
    assert received == [{"text": "crm_nightly 2026-11-21 failed at erp.load_raw: disk full"}]


def test_log_is_the_default_and_an_unreachable_hook_never_raises(monkeypatch, caplog):
    monkeypatch.delenv("CRMWH_NOTIFY", raising=False)
    with caplog.at_level(logging.ERROR, logger="crmwh.notify"):
        assert notify("night failed") == "log"
        monkeypatch.setenv("CRMWH_NOTIFY", "webhook:http://127.0.0.1:9/unreachable")
        on_task_failure({"ds": "2026-11-21", "task_instance": _Ti(), "exception": ValueError("x")})
    assert "night failed" in caplog.text
    assert "could not be sent" in caplog.text
    assert failure_message({"ds": "d", "ti": _Ti(), "exception": "e"}) == "crm_nightly d failed at erp.load_raw: e"
