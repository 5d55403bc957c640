"""Failure notifications for the nightly DAG, through a hook chosen by configuration.

``CRMWH_NOTIFY`` selects it: ``log`` (default), ``webhook:<url>`` (JSON POST) or
``smtp:<to-address>`` (mail through ``CRMWH_SMTP_HOST``/``CRMWH_SMTP_PORT``,
sender ``CRMWH_SMTP_FROM``). Credentials never live in files: they come from
the environment or an Airflow connection.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

log = logging.getLogger("crmwh.notify")


def failure_message(context: dict[str, Any]) -> str:
    ti = context.get("task_instance") or context.get("ti")
    task_id = getattr(ti, "task_id", "?")
    exception = context.get("exception")
    return f"crm_nightly {context.get('ds', '?')} failed at {task_id}: {exception}"


def notify(message: str, target: str | None = None) -> str:
    """Send ``message`` through the configured hook; returns the hook used."""
    target = target or os.environ.get("CRMWH_NOTIFY", "log")
    if target.startswith("webhook:"):
        request = urllib.request.Request(
            target.removeprefix("webhook:"),
            data=json.dumps({"text": message}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return "webhook"
    if target.startswith("smtp:"):
        mail = EmailMessage()
        mail["Subject"] = message[:120]
        mail["From"] = os.environ.get("CRMWH_SMTP_FROM", "crmwh@localhost")
        mail["To"] = target.removeprefix("smtp:")
        mail.set_content(message)
        with smtplib.SMTP(os.environ.get("CRMWH_SMTP_HOST", "localhost"),
                          int(os.environ.get("CRMWH_SMTP_PORT", "25")), timeout=10) as smtp:
            smtp.send_message(mail)
        return "smtp"
    log.error("%s", message)
    return "log"


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow ``on_failure_callback``: a failing hook is logged, never hides the task's own failure."""
    try:
        notify(failure_message(context))
    except OSError as exc:
        log.error("crmwh: failure notification could not be sent (%s): %s", exc, failure_message(context))
