"""The README's generated contract reference is current, and every command documents itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crmwh.cli import build_parser, main
from ingestion.contract_docs import END, START, render

ROOT = Path(__file__).resolve().parents[1]


def test_readme_contract_section_matches_the_contracts():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(START, 1)[1].split(END, 1)[0]
    assert section == "\n" + render(), "run `python -m ingestion.contract_docs README.md`"
    assert "| `order_id` | varchar | yes |" in section


@pytest.mark.parametrize("command", ["demo", "generate", "nightly", "backfill", "status", "bench", "report"])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "crmwh.cli", command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "usage: crmwh " + command in result.stdout


def test_user_errors_are_one_line_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRMWH_HOME", str(tmp_path))
    assert main(["backfill", "--start", "2026-11-05", "--end", "2026-11-01"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "crmwh: error: --end 2026-11-01 is before --start 2026-11-05"
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["nightly", "--date", "21/11/2026"])
    assert exit_info.value.code == 2


def test_status_before_any_night(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRMWH_HOME", str(tmp_path))
    assert main(["status"]) == 0
    assert "no nights have run yet" in capsys.readouterr().out
