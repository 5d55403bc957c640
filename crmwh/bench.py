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

from crmwh.errors import CrmwhError
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


def floor_read(landing_dir: Path, db_path: Path, nights: list | None = None) -> Timing:
    """Read every landed file (of ``nights``, default all) once into a plain table."""
    con = duckdb.connect(str(db_path))
    readers = {"csv": "read_csv(?, all_varchar = true)", "jsonl": "read_json(?, format = 'newline_delimited', ignore_errors = true)",
               "parquet": "read_parquet(?)"}
    rows = 0
    started = time.perf_counter()
    for number, night in enumerate(nights if nights is not None else nights_in(landing_dir)):
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
PARTS = ("ingest", "dbt", "value", "night")


def bench_value_models(scale: str) -> dict[str, float]:
    """Customer-value model fit and scoring (BG/NBD + Gamma-Gamma) for the scale's number of customers."""
    from crmwh.value.bench import run as run_value_bench

    progress(f"bench {scale}: customer-value models for {CUSTOMERS_BY_SCALE[scale]:,} customers")
    result = run_value_bench(CUSTOMERS_BY_SCALE[scale], verbose=False)
    print(f"\ncustomer-value models, scale {scale}")
    print("  " + result.report().replace("\n", "\n  "))
    return {f"value_{key}": seconds for key, seconds in result.seconds.items()}


def run_bench(scale: str, nights: int, workdir: Path | None = None, keep: bool = False,
              parts: tuple[str, ...] = PARTS, landing: Path | None = None) -> dict[str, float]:
    """Run the chosen parts; ``landing`` reuses files from ``crmwh generate`` instead of generating them."""
    figures: dict[str, float] = {}
    root = workdir or Path(tempfile.mkdtemp(prefix=f"crmwh-bench-{scale}-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        if {"ingest", "dbt", "night"} & set(parts):
            if landing is None:
                landing = root / "landing"
                figures.update(generate_landing(scale, nights, landing))
            elif not nights_in(landing):
                raise CrmwhError(f"--landing {landing}: no night folders there; write them with "
                                 f"`crmwh generate --scale {scale} --nights 2 --out {landing}`")
        if "ingest" in parts:
            figures.update(bench_ingest(scale, nights, root, landing, figures.get("generate_seconds", 0.0)))
        if "dbt" in parts:
            figures.update(bench_dbt_builds(root, landing))
        if "value" in parts:
            figures.update(bench_value_models(scale))
        if "night" in parts:
            from crmwh.bench_night import bench_nights

            figures.update(bench_nights(root, landing))
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return figures


def generate_landing(scale: str, nights: int, landing: Path) -> dict[str, float]:
    from crmwh.simulator import generate

    if landing.exists():
        shutil.rmtree(landing)
    progress(f"bench {scale}: generating {nights} nights into {landing}")
    started = time.perf_counter()
    generate(scale=scale, nights=nights, out_dir=landing, progress=progress)
    return {"generate_seconds": time.perf_counter() - started}


def bench_ingest(scale: str, nights: int, root: Path, landing: Path, generate_seconds: float) -> dict[str, float]:
    landed_bytes = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()
                       and p.suffix.lower() in SUPPORTED_FORMATS and "_truth" not in p.parts)
    progress("bench: floor (DuckDB reads every landed file once into tables)")
    floor = floor_read(landing, root / "floor.duckdb")
    progress("bench: ingest (raw + quarantine + ledger + reconciliation)")
    loaded = ingest(landing, root / "ingest.duckdb")
    ratio = loaded.seconds / floor.seconds if floor.seconds else float("nan")
    figures = {
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


def bench_dbt_builds(root: Path, landing: Path) -> dict[str, float]:
    """dbt: a full build over all nights but the last, then the last night incrementally, then a full refresh."""
    from crmwh.config import Settings
    from crmwh.pipeline.bench_dbt import time_dbt

    settings = Settings(home=root, landing_dir=landing, warehouse_path=root / "warehouse" / "crm.duckdb",
                        work_dir=root / "work")
    settings.ensure_dirs()
    settings.build_db_path.unlink(missing_ok=True)
    nights = nights_in(landing)
    if len(nights) < 2:
        raise CrmwhError("bench dbt needs at least 2 nights (--nights 2 or more)")

    def load(selected: list) -> None:
        con = connect(settings.build_db_path)
        try:
            for night in selected:
                load_night(con, landing, night)
        finally:
            con.close()

    load(nights[:-1])
    progress(f"bench: dbt build of nights {nights[0]}..{nights[-2]}")
    first = time_dbt(settings, full_refresh=True, as_of=nights[-2])
    load(nights[-1:])
    progress(f"bench: dbt incremental build of night {nights[-1]}")
    incremental = time_dbt(settings, full_refresh=False, as_of=nights[-1])
    progress("bench: dbt full refresh over every night")
    full = time_dbt(settings, full_refresh=True, as_of=nights[-1])
    ratio = incremental["seconds"] / full["seconds"] if full["seconds"] else float("nan")
    print(f"\ndbt build ({full['models']} models, {full['tests']} tests)")
    print(f"  first build         {first['seconds']:10.2f} s")
    print(f"  incremental night   {incremental['seconds']:10.2f} s")
    print(f"  full refresh        {full['seconds']:10.2f} s")
    print(f"  incremental / full  {ratio:10.2f}     (aim at scale m: under 0.1)")
    print(f"  peak RSS (dbt)      {full['peak_rss_mib']:10.0f} MiB")
    return {"dbt_incremental_seconds": incremental["seconds"], "dbt_full_refresh_seconds": full["seconds"],
            "dbt_incremental_to_full_ratio": ratio, "dbt_peak_rss_mib": full["peak_rss_mib"]}
