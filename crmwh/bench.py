"""``crmwh bench``: generate and ingest speed, against a floor.

The floor is DuckDB reading the same landed files once into tables with no
bookkeeping (no metadata columns, no hashes, no ledger, no quarantine): the
least any loader must spend. The figure that matters is ingest / floor.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from crmwh.progress import progress
from ingestion.landing import SUPPORTED_FORMATS, night_files, nights_in, systems_in
from ingestion.night import load_night
from ingestion.warehouse import connect, quote_ident


@dataclass
class Timing:
    seconds: float
    rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_read(landing_dir: Path, db_path: Path) -> Timing:
    """Read every landed file once into a plain table."""
    con = duckdb.connect(str(db_path))
    readers = {"csv": "read_csv(?, all_varchar = true)", "jsonl": "read_json(?, format = 'newline_delimited', ignore_errors = true)",
               "parquet": "read_parquet(?)"}
    rows = 0
    started = time.perf_counter()
    for number, night in enumerate(nights_in(landing_dir)):
        for system in systems_in(landing_dir):
            if not (landing_dir / system / night.isoformat()).is_dir():
                continue
            for index, landed in enumerate(night_files(landing_dir, system, night)):
                if landed.file_format is None or landed.path.stat().st_size == 0:
                    continue
                table = quote_ident(f"t{number}_{system}_{index}")
                con.execute(f"create table {table} as select * from {readers[landed.file_format]}",
                            [str(landed.path)])
                rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    con.close()
    return Timing(time.perf_counter() - started, rows)


def ingest(landing_dir: Path, db_path: Path) -> Timing:
    con = connect(db_path)
    rows = 0
    started = time.perf_counter()
    for night in nights_in(landing_dir):
        for load in load_night(con, landing_dir, night):
            rows += load.rows_in
    con.close()
    return Timing(time.perf_counter() - started, rows)


CUSTOMERS_BY_SCALE = {"xs": 1_000, "s": 10_000, "m": 100_000, "l": 1_000_000}
PARTS = ("ingest", "value")


def bench_value_models(scale: str) -> dict[str, float]:
    """Customer-value model fit and scoring (BG/NBD + Gamma-Gamma) for the scale's number of customers."""
    from crmwh.value.bench import run as run_value_bench

    progress(f"bench {scale}: customer-value models for {CUSTOMERS_BY_SCALE[scale]:,} customers")
    result = run_value_bench(CUSTOMERS_BY_SCALE[scale], verbose=False)
    print(f"\ncustomer-value models, scale {scale}")
    print("  " + result.report().replace("\n", "\n  "))
    return {f"value_{key}": seconds for key, seconds in result.seconds.items()}


def run_bench(scale: str, nights: int, workdir: Path | None = None, keep: bool = False,
              parts: tuple[str, ...] = PARTS) -> dict[str, float]:
    figures: dict[str, float] = {}
    if "ingest" in parts:
        figures.update(bench_ingest(scale, nights, workdir, keep))
    if "value" in parts:
        figures.update(bench_value_models(scale))
    return figures


def bench_ingest(scale: str, nights: int, workdir: Path | None = None, keep: bool = False) -> dict[str, float]:
    from crmwh.simulator import generate

    root = workdir or Path(tempfile.mkdtemp(prefix=f"crmwh-bench-{scale}-"))
    root.mkdir(parents=True, exist_ok=True)
    landing = root / "landing"
    if landing.exists():
        shutil.rmtree(landing)
    try:
        progress(f"bench {scale}: generating {nights} nights into {landing}")
        started = time.perf_counter()
        generate(scale=scale, nights=nights, out_dir=landing, progress=progress)
        generate_seconds = time.perf_counter() - started
        landed_bytes = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()
                           and p.suffix.lower() in SUPPORTED_FORMATS and "_truth" not in p.parts)

        progress("bench: floor (DuckDB reads every landed file once into tables)")
        floor = floor_read(landing, root / "floor.duckdb")
        progress("bench: ingest (raw + quarantine + ledger + reconciliation)")
        loaded = ingest(landing, root / "ingest.duckdb")
        ratio = loaded.seconds / floor.seconds if floor.seconds else float("nan")
        figures = {
            "generate_seconds": generate_seconds,
            "generate_rows_per_second": loaded.rows / generate_seconds if generate_seconds else 0.0,
            "ingest_seconds": loaded.seconds,
            "ingest_rows": loaded.rows,
            "ingest_rows_per_second": loaded.rows_per_second,
            "floor_seconds": floor.seconds,
            "floor_rows": floor.rows,
            "ingest_to_floor_ratio": ratio,
            "landed_mib": landed_bytes / 2**20,
            "peak_rss_mib": _peak_rss_mib(),
        }
        print(f"\ncrmwh bench --scale {scale} --nights {nights}")
        print(f"  landed files        {figures['landed_mib']:10.1f} MiB, {loaded.rows} records")
        print(f"  generate            {generate_seconds:10.2f} s   {figures['generate_rows_per_second']:12,.0f} rows/s")
        print(f"  ingest              {loaded.seconds:10.2f} s   {loaded.rows_per_second:12,.0f} rows/s")
        print(f"  floor (plain read)  {floor.seconds:10.2f} s   {floor.rows_per_second:12,.0f} rows/s")
        print(f"  ingest / floor      {ratio:10.2f} x   (aim: within 2x)")
        print(f"  peak RSS            {figures['peak_rss_mib']:10.0f} MiB")
        return figures
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
