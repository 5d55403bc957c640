"""``crmwh report`` (issue 5 item 5): a self-contained HTML report that renders in a real browser.

The report is built from a warehouse published by the real pipeline pieces
(tests/support/warehouse_fixture.py) and opened in Debian's headless Chromium with the
network cut off: it must exit cleanly, log no JavaScript error, draw every chart (plotly's
``main-svg`` and the chart's title inside its section of the DOM) and give a screenshot
that shows colourful charts rather than a blank page. Missing or empty tables must turn
into "no data yet" notes, and a missing warehouse into a one-line error.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from crmwh.config import Settings, load_settings
from crmwh.errors import CrmwhError
from crmwh.report import build_report
from crmwh.report.charts import CHARTS

try:  # tests/ is on sys.path when it has no __init__.py (pytest's default import mode)
    from support.warehouse_fixture import published_warehouse  # noqa: F401  (a fixture)
except ImportError:  # tests/ became a package
    from tests.support.warehouse_fixture import published_warehouse  # noqa: F401

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: a CDN reference would fail to load
    "--virtual-time-budget=10000",  # let plotly finish drawing before the page is captured
]
CHART_KEYS = ["value_matrix", "rfm_grid", "lead_funnel", "cohort_retention", "sla_trend", "campaign_roi",
              "channel_mix"]
CHART_TITLES = {
    "value_matrix": "Value matrix", "rfm_grid": "RFM grid", "lead_funnel": "Lead funnel",
    "cohort_retention": "Cohort retention", "sla_trend": "First-response SLA", "campaign_roi": "Campaign cost",
    "channel_mix": "Channel mix",
}


def _chromium(*args: str, user_data_dir: Path) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get update && apt-get install -y chromium`",
                    pytrace=False)
    return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def decode_png(data: bytes) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit RGB/RGBA, non-interlaced PNG: no imaging library needed."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None, "PNG without IHDR"
    width, height, depth, colour, _compression, _filter, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(bytes(idat)), dtype=np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: running sum per channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 255
        elif kind == 2:  # Up
            row = (line + previous) & 255
        else:  # Average and Paeth depend on the decoded left neighbour: byte by byte
            row = np.array(_unfilter_sequential(line.tolist(), previous.tolist(), bpp, kind), dtype=np.int64)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, bpp)


def _unfilter_sequential(line: list[int], up: list[int], bpp: int, kind: int) -> list[int]:
    row = [0] * len(line)
    for i, x in enumerate(line):
        a = row[i - bpp] if i >= bpp else 0
        b = up[i]
        if kind == 3:
            row[i] = (x + ((a + b) >> 1)) & 255
            continue
        c = up[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        row[i] = (x + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return row


def _sections(dom: str) -> dict[str, str]:
    """The DOM of each chart's <section id="chart-...">, by chart key."""
    parts = re.split(r'(?=<section class="chart)', dom)
    found = {}
    for part in parts:
        match = re.match(r'<section class="chart[^"]*" id="chart-([a-z_]+)"', part)
        if match:
            found[match.group(1)] = part.split("</section>", 1)[0]
    return found


@pytest.fixture(scope="module")
def report(published_warehouse: Settings) -> Path:
    return build_report(published_warehouse)


def test_report_is_one_self_contained_file(report: Path, published_warehouse: Settings) -> None:
    assert report.parent == published_warehouse.reports_dir
    assert re.fullmatch(r"crmwh_report_\d{4}-\d{2}-\d{2}\.html", report.name)
    page = report.read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot") == len(CHART_KEYS)
    # plotly.js is inlined exactly once and nothing is loaded from elsewhere.
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0
    assert len(re.findall(r"<link[^>]*\bhref=", page)) == 0
    assert page.count("plotly.js v") >= 1 and len(page) > 3_000_000
    assert "<table class=\"summary\"" in page and "Last published night" in page and "Nights published" in page
    assert "no data yet" not in page, "the demo warehouse has data for every chart"
    assert "Attribution: single touch" in page  # the attribution rule is stated in the chart subtitle


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    url = report.resolve().as_uri()
    screenshot = tmp_path / "report.png"
    shot = _chromium(f"--screenshot={screenshot}", "--window-size=1400,3000", url, user_data_dir=tmp_path / "ud1")
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert screenshot.is_file() and screenshot.stat().st_size > 50_000, "screenshot missing or tiny"
    pixels = decode_png(screenshot.read_bytes())[..., :3].astype(np.int64)
    assert pixels.shape[:2] == (3000, 1400)
    buckets = np.bincount(((pixels // 32) * np.array([64, 8, 1])).sum(axis=-1).reshape(-1), minlength=512)
    assert buckets.max() / buckets.sum() < 0.93, "the screenshot is mostly one colour"
    assert (buckets > buckets.sum() * 0.001).sum() >= 12, "the screenshot has too few colours for charts"
    saturated = (pixels.max(axis=-1) - pixels.min(axis=-1) > 80).mean()
    assert saturated > 0.02, f"only {saturated:.1%} of the screenshot is coloured: are the charts drawn?"

    dumped = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url, user_data_dir=tmp_path / "ud2")
    assert dumped.returncode == 0, dumped.stderr[-3000:]
    console = [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "error" in line.lower()], console
    sections = _sections(dumped.stdout)
    assert sorted(sections) == sorted(CHART_KEYS)
    for key in CHART_KEYS:
        svg = sections[key]
        assert 'class="main-svg"' in svg, f"{key}: plotly drew no SVG"
        assert re.search(r'class="gtitle"[^>]*>[^<]*' + re.escape(CHART_TITLES[key]), svg), f"{key}: no title drawn"


def test_charts_degrade_to_notes_on_empty_tables(published_warehouse: Settings, tmp_path: Path) -> None:
    """A warehouse whose leads, tickets, campaigns, interactions and cohorts are empty still reports the rest."""
    home = tmp_path / "home"
    settings = load_settings({"CRMWH_HOME": str(home)})
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(published_warehouse.warehouse_path, settings.warehouse_path)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        for table in ["core.fct_lead_conversions", "core.fct_tickets", "core.dim_campaign", "core.fct_interactions",
                      "marts.cohort_retention"]:
            con.execute(f"delete from {table}")
        con.execute("checkpoint")
    finally:
        con.close()
    page = build_report(settings).read_text(encoding="utf-8")
    sections = _sections(page)
    for key in ["lead_funnel", "sla_trend", "campaign_roi", "channel_mix", "cohort_retention"]:
        assert 'class="chart no-data"' in sections[key] and "no data yet for" in sections[key], key
    for key in ["value_matrix", "rfm_grid"]:
        assert "Plotly.newPlot" in sections[key], key


def test_report_on_a_warehouse_without_tables(tmp_path: Path) -> None:
    """Bring-your-own data before its first night, or a foreign file: every chart a note, no crash."""
    settings = load_settings({"CRMWH_HOME": str(tmp_path)})
    settings.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    path = build_report(settings)
    page = path.read_text(encoding="utf-8")
    sections = _sections(page)
    assert len(CHARTS) == len(CHART_KEYS) and sorted(sections) == sorted(CHART_KEYS)
    assert all("no data yet for" in body for body in sections.values())
    assert "Plotly.newPlot" not in page and "no data yet (no audit.nights)" in page


def test_report_without_published_warehouse_is_a_one_line_error(tmp_path: Path) -> None:
    settings = load_settings({"CRMWH_HOME": str(tmp_path)})
    with pytest.raises(CrmwhError, match="run crmwh demo or crmwh nightly first") as error:
        build_report(settings)
    assert "\n" not in str(error.value)
    assert not settings.reports_dir.exists()
