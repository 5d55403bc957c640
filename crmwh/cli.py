"""The ``crmwh`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from crmwh.config import Settings, load_settings
from crmwh.errors import CrmwhError
from crmwh.progress import progress

SCALES = ("xs", "s", "m", "l")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_generate(args: argparse.Namespace) -> int:
    from crmwh.simulator import generate

    settings = load_settings()
    out = Path(args.out).resolve() if args.out else settings.landing_dir
    result = generate(scale=args.scale, nights=args.nights, out_dir=out, start=args.start, seed=args.seed,
                      dirty_share=args.dirty, progress=progress)
    print(f"wrote {args.nights} nights of scale {args.scale} to {out}")
    total = getattr(result, "total_rows", None)
    if total is not None:
        print(f"{total} records in all")
    return 0


def _run_nights(nights: list[date]) -> list[tuple[date, str]]:
    from crmwh.pipeline.airflow_runner import run_night
    from crmwh.reporting import night_failure_reason, print_night_steps

    settings = load_settings()
    outcomes = []
    for number, night in enumerate(nights, start=1):
        _refuse_out_of_order(settings, night)
        log_path = settings.work_dir / "logs" / f"crm_nightly_{night.isoformat()}.log"
        progress(f"night {night} ({number}/{len(nights)}): running the crm_nightly DAG (log: {log_path})")
        state = run_night(settings, night, log_path=log_path)
        print_night_steps(settings, night)
        outcomes.append((night, state))
        if state != "success":
            raise CrmwhError(
                f"night {night} failed: {night_failure_reason(settings, night)}; "
                f"the last good warehouse is kept at {settings.warehouse_path} "
                f"(task log: {log_path}; `crmwh status` lists the nights)"
            )
    return outcomes


def _refuse_out_of_order(settings: Settings, night: date) -> None:
    """Refuse before starting Airflow what ``begin`` would refuse anyway (a one-line message, no DAG run)."""
    if not settings.build_db_path.exists():
        return
    from crmwh.pipeline.steps import check_night_order, warehouse

    with warehouse(settings) as con:
        check_night_order(con, night)


def cmd_nightly(args: argparse.Namespace) -> int:
    _run_nights([args.date])
    from crmwh.reporting import print_night_summary

    print_night_summary(load_settings(), [args.date])
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise CrmwhError(f"--end {args.end} is before --start {args.start}")
    nights = [args.start + timedelta(days=offset) for offset in range((args.end - args.start).days + 1)]
    _run_nights(nights)
    from crmwh.reporting import print_night_summary

    print_night_summary(load_settings(), nights)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crmwh.reporting import print_night_summary
    from crmwh.simulator import generate
    from ingestion.landing import nights_in

    settings = load_settings()
    settings.ensure_dirs()
    progress(f"generating {args.nights} nights of simulated CRM, ERP, helpdesk and call-center extracts "
             f"(scale {args.scale}) into {settings.landing_dir}")
    generate(scale=args.scale, nights=args.nights, out_dir=settings.landing_dir, start=args.start,
             seed=args.seed, dirty_share=args.dirty, progress=progress)
    nights = nights_in(settings.landing_dir)[-args.nights:]
    _run_nights(nights)
    print_night_summary(settings, nights)
    from crmwh.report import build_report

    progress("writing the HTML report from the published warehouse")
    print(f"Report:               {build_report(settings)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from crmwh.report import build_report

    path = build_report(load_settings(), out_dir=Path(args.out).resolve() if args.out else None)
    print(f"Report: {path}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from crmwh.reporting import print_status

    print_status(load_settings(), args.last)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from crmwh.bench import run_bench

    from crmwh.bench import PARTS

    parts = tuple(part.strip() for part in args.parts.split(",") if part.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise CrmwhError(f"--parts: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    run_bench(scale=args.scale, nights=args.nights, workdir=Path(args.workdir) if args.workdir else None,
              keep=args.keep, parts=parts, landing=Path(args.landing) if args.landing else None)
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from crmwh.privacy.erase import erase

    print(erase(load_settings(), customer=args.customer, source_id=args.source_id, progress=progress).summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmwh",
        description="CRM data warehouse: land CRM, ERP, helpdesk and call-center extracts into DuckDB "
                    "and build history, facts and customer-value marts with dbt, orchestrated by Airflow. "
                    "Files live under $CRMWH_HOME (default ./crmwh_home).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def simulation_options(p: argparse.ArgumentParser, scale_default: str | None, nights_default: int) -> None:
        p.add_argument("--scale", choices=SCALES, default=scale_default, required=scale_default is None,
                       help="xs ~1k customers, s ~10k, m ~100k, l ~1M")
        p.add_argument("--nights", type=_positive, default=nights_default, help="number of nightly extracts")
        p.add_argument("--start", type=_date, default=None, help="first night (YYYY-MM-DD; default 2026-11-01)")
        p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
        p.add_argument("--dirty", type=float, default=0.02, help="share of dirty records (0 for clean data)")

    demo = sub.add_parser("demo", help="generate sample sources and run the nightly DAG for each night")
    simulation_options(demo, "xs", 7)
    demo.set_defaults(func=cmd_demo)

    gen = sub.add_parser("generate", help="write simulated source-system extracts, one folder per night")
    simulation_options(gen, None, 7)
    gen.add_argument("--out", help="landing folder to write to (default $CRMWH_HOME/landing)")
    gen.set_defaults(func=cmd_generate)

    nightly = sub.add_parser("nightly", help="run the crm_nightly DAG for one logical date (safe to re-run)")
    nightly.add_argument("--date", type=_date, required=True, help="logical date YYYY-MM-DD")
    nightly.set_defaults(func=cmd_nightly)

    backfill = sub.add_parser("backfill", help="run the nightly DAG for every date from --start to --end, in order")
    backfill.add_argument("--start", type=_date, required=True)
    backfill.add_argument("--end", type=_date, required=True)
    backfill.set_defaults(func=cmd_backfill)

    report = sub.add_parser("report", help="write the HTML report with plots from the published warehouse")
    report.add_argument("--out", help="folder to write to (default $CRMWH_HOME/reports)")
    report.set_defaults(func=cmd_report)

    status = sub.add_parser("status", help="print the last nights from the audit tables")
    status.add_argument("--last", type=_positive, default=10)
    status.set_defaults(func=cmd_status)

    bench = sub.add_parser("bench", help="print benchmark figures: whole nights stage by stage vs a DuckDB floor, "
                                         "ingest, dbt and customer-value models")
    bench.add_argument("--scale", choices=SCALES, default="s")
    bench.add_argument("--nights", type=_positive, default=3)
    bench.add_argument("--workdir", help="folder for the benchmark's files (default: a temporary folder)")
    bench.add_argument("--keep", action="store_true", help="keep the benchmark's files")
    bench.add_argument("--landing", help="use the nights already written there by `crmwh generate --out` "
                                         "instead of generating them (generation at l takes minutes)")
    bench.add_argument("--parts", default="night,value",
                       help="comma-separated: night (a full-build night and an incremental night through every "
                            "pipeline step: time per stage, rows/s, peak RSS, night / floor), ingest (every "
                            "night's ingest vs a DuckDB floor), dbt (dbt full build vs one incremental night vs "
                            "full refresh), value (customer-value model fit and scoring at the scale's customers)")
    bench.set_defaults(func=cmd_bench)

    erase = sub.add_parser("erase", help="erase one customer's personal data from every layer and the landed "
                                         "files, keeping the de-identified facts")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", help="customer_key from core.dim_customer")
    who.add_argument("--source-id", help="one source record: <system>:<entity>:<id> or <system>:<id>")
    erase.set_defaults(func=cmd_erase)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CrmwhError as exc:
        print(f"crmwh: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("crmwh: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected bug: one line, the traceback on request
        if os.environ.get("CRMWH_DEBUG"):
            traceback.print_exc()
        print(f"crmwh: internal error: {type(exc).__name__}: {exc} (set CRMWH_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
