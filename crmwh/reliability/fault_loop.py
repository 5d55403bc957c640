"""Fault-injection loop: SIGKILL a night at random points, check the published warehouse, recover.

Trials run in rounds of up to four, one new night per round. Each trial starts the night in a
subprocess (``crmwh.reliability.night_runner``: the DAG's steps without Airflow), waits until it
reaches a step of its stage (ingest, dbt, gates or publish; a round hits each stage once, in the
night's order, the step chosen at random weighted by its measured duration), sleeps a seeded
random part of that step's duration and kills the whole process group with SIGKILL (the worker
and its dbt child die together, as in a crash; ``--kill-mode process`` kills only the night's
process). Then it checks that

* the published file is byte-identical to the last good one (or, for a kill after the atomic
  swap, is this run's complete copy, recording the run as published),
* it opens read-only and answers a query on ``audit.nights`` and a mart,
* the next run of the same night, with no manual step, gets past the step the kill hit (the next
  trial kills it later), and the round's last run completes and publishes, leaving no temporary
  file beside the published one.

    python -m crmwh.reliability.fault_loop --trials 20 [--seed 7] [--home DIR] [--kill-mode group]
                                           [--no-dbt-tests]

prints the trials run, the kills per stage and every failure found; exit status 1 if any.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from crmwh.config import Settings, load_settings
from crmwh.reliability.night_runner import STAGES

MART_QUERY = "select count(*) from marts.customer_value"


@dataclass
class Trial:
    number: int
    night: date
    target_stage: str
    delay_seconds: float
    target_step: str = ""
    killed_stage: str = ""
    killed_step: str = ""
    published_kept: bool = False
    published_swapped: bool = False
    opens: bool = False
    recovered: bool = False
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class LoopReport:
    trials: list[Trial] = field(default_factory=list)
    setup_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def kills_per_stage(self) -> Counter[str]:
        return Counter(trial.killed_stage for trial in self.trials)

    @property
    def failures(self) -> list[str]:
        return [f"trial {t.number} ({t.night}, killed in {t.killed_step}): {f}" for t in self.trials for f in t.failures]

    def summary(self) -> str:
        kills = ", ".join(f"{stage} {self.kills_per_stage.get(stage, 0)}"
                          for stage in (*STAGES, "finish", "done", "none") if self.kills_per_stage.get(stage)
                          or stage in STAGES)
        lines = [
            f"trials run: {len(self.trials)}",
            f"kills per stage: {kills}",
            f"published file kept byte-identical: {sum(t.published_kept for t in self.trials)}, "
            f"swapped to the killed run's complete copy (kill after the atomic replace): "
            f"{sum(t.published_swapped for t in self.trials)}",
            f"opened read-only after the kill: {sum(t.opens for t in self.trials)}/{len(self.trials)}",
            f"recovered with no manual step (the next run got past the kill, the round's last run "
            f"published): {sum(t.recovered for t in self.trials)}/{len(self.trials)}",
            f"failures found: {len(self.failures)}",
            *[f"  - {failure}" for failure in self.failures],
            f"time: setup {self.setup_seconds:.0f} s, trials {self.seconds:.0f} s "
            f"({self.seconds / max(1, len(self.trials)):.0f} s per trial)",
        ]
        return "\n".join(lines)


def sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def home_env(settings: Settings, dbt_tests: bool = True) -> dict[str, str]:
    env = {**os.environ, "CRMWH_HOME": str(settings.home), "CRMWH_LANDING_DIR": str(settings.landing_dir),
           "CRMWH_WAREHOUSE": str(settings.warehouse_path), "CRMWH_WORK_DIR": str(settings.work_dir),
           "CRMWH_NIGHT_DBT_TESTS": "1" if dbt_tests else "0"}
    env.pop("CRMWH_CONFIG", None)
    return env


class NightProcess:
    """One ``night_runner`` subprocess in its own process group, its stage markers timestamped."""

    def __init__(self, settings: Settings, night: date, log: Path, dbt_tests: bool = True):
        self.started = time.monotonic()
        self.markers: list[tuple[float, str, str]] = []
        self._seen = threading.Condition()
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crmwh.reliability.night_runner", "--date", night.isoformat()],
            env=home_env(settings, dbt_tests), stdout=subprocess.PIPE, stderr=self._log, start_new_session=True, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAGE":
                with self._seen:
                    self.markers.append((time.monotonic() - self.started, parts[1], parts[2]))
                    self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for_step(self, step: str, timeout: float) -> bool:
        """True once ``step`` started; False if the night ended (or timed out) first."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(marker[2] == step for marker in self.markers):
                if self.process.poll() is not None and not self._reader.is_alive():
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._seen.wait(min(remaining, 0.05))
        return True

    def step_durations(self) -> dict[str, float]:
        return {step: next_at - at for (at, _, step), (next_at, _, _) in zip(self.markers, self.markers[1:])}

    def step_stages(self) -> dict[str, str]:
        return {step: stage for _, stage, step in self.markers}

    def step_order(self) -> dict[str, int]:
        return {step: index for index, (_, _, step) in enumerate(self.markers)}

    def current(self) -> tuple[str, str]:
        with self._seen:
            return (self.markers[-1][1], self.markers[-1][2]) if self.markers else ("none", "none")

    def kill(self, mode: str) -> None:
        if mode == "group":
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(signal.SIGKILL)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=10)
            self._log.close()

    def stage_durations(self) -> dict[str, float]:
        """Seconds spent in each stage (from its first marker to the first marker of another stage)."""
        durations: Counter[str] = Counter()
        for (at, stage, _), (next_at, _, _) in zip(self.markers, self.markers[1:]):
            durations[stage] += next_at - at
        return dict(durations)


def published_state(settings: Settings, night: date) -> tuple[bool, str]:
    """Open the published file read-only, query the audit and a mart; ``(ok, detail)``."""
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            published = con.execute(
                "select count(*) from audit.nights where logical_date = ? and published", [night]).fetchone()[0]
            mart_rows = con.execute(MART_QUERY).fetchone()[0]
        finally:
            con.close()
    except duckdb.Error as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, f"{published} published runs of {night}, {mart_rows} mart rows"


def night_published_in_file(settings: Settings, night: date) -> int:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute("select count(*) from audit.nights where logical_date = ? and published and "
                           "status = 'success'", [night]).fetchone()[0]
    finally:
        con.close()


def leftover_temporaries(settings: Settings) -> list[str]:
    target = settings.warehouse_path
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def run_complete_night(settings: Settings, night: date, log: Path, dbt_tests: bool = True,
                       timeout: float = 900) -> tuple[int, NightProcess]:
    night_process = NightProcess(settings, night, log, dbt_tests)
    return night_process.wait(timeout), night_process


def prepare_home(home: Path, nights: int, seed: int = 42) -> tuple[Settings, list[date]]:
    """Simulated xs sources for ``nights`` nights (a short history keeps the first night small)."""
    from crmwh.simulator.generate import generate

    settings = load_settings({"CRMWH_HOME": str(home)})
    settings.ensure_dirs()
    result = generate("xs", nights, settings.landing_dir, seed=seed, history_days=60)
    return settings, [result.start + timedelta(days=i) for i in range(nights)]


def plan_rounds(trials: int, rng: random.Random) -> list[list[str]]:
    """Target stages per round: each round kills successive runs of one night at stages in the
    night's order (so each run gets past the previous run's kill point), then lets one finish."""
    rounds = []
    while trials > 0:
        count = min(trials, len(STAGES))
        chosen = set(rng.sample(STAGES, count))
        rounds.append([stage for stage in STAGES if stage in chosen])
        trials -= count
    return rounds


def pick_target(stage: str, step_durations: dict[str, float], step_stage: dict[str, str], order: dict[str, int],
                after: int, rng: random.Random) -> tuple[str, float]:
    """A step of ``stage`` after step number ``after`` (weighted by how long it ran), and a delay inside it;
    the first step after ``after`` if the stage has none left."""
    candidates = [(step, seconds) for step, seconds in step_durations.items()
                  if step_stage.get(step) == stage and order[step] > after]
    if not candidates:
        later = sorted((index, step) for step, index in order.items() if index > after and step in step_durations)
        if not later:
            return "publish", 0.0
        candidates = [(later[0][1], step_durations[later[0][1]])]
    step = rng.choices([c[0] for c in candidates], weights=[max(c[1], 0.01) for c in candidates])[0]
    return step, rng.uniform(0, max(step_durations[step], 0.02))


def run_loop(home: Path, trials: int, seed: int = 7, kill_mode: str = "group", dbt_tests: bool = True,
             progress=lambda message: None) -> LoopReport:
    """Set up a published first night under ``home``, then run ``trials`` kill trials in rounds.

    A round runs one new night again and again: each run is SIGKILLed in a later stage than the
    previous one (so it proves the previous kill needed no manual step: it got past that point),
    and the round ends with a run of the same night that completes and publishes.
    """
    report = LoopReport()
    started = time.monotonic()
    rng = random.Random(seed)
    rounds = plan_rounds(trials, rng)
    settings, nights = prepare_home(home, len(rounds) + 1)
    log = settings.work_dir / "fault_loop.log"
    code, reference = run_complete_night(settings, nights[0], log, dbt_tests)
    if code != 0:
        raise RuntimeError(f"the first night did not publish (exit {code}): see {log}")
    report.setup_seconds = time.monotonic() - started
    progress(f"first night published in {report.setup_seconds:.0f} s; stage durations "
             + ", ".join(f"{k} {v:.1f} s" for k, v in reference.stage_durations().items()))
    loop_started = time.monotonic()
    number = 0
    for night, stages in zip(nights[1:], rounds):
        step_durations, step_stage, order = reference.step_durations(), reference.step_stages(), reference.step_order()
        previous: Trial | None = None
        for stage in stages:
            number += 1
            after = order.get(previous.killed_step, -1) if previous else -1
            step, delay = pick_target(stage, step_durations, step_stage, order, after, rng)
            trial = Trial(number, night, stage, delay_seconds=delay, target_step=step)
            report.trials.append(trial)
            trial_started = time.monotonic()
            victim = kill_one_run(settings, trial, kill_mode, log, dbt_tests)
            if previous is not None:
                recovered_past(previous, victim, order)
            trial.seconds = time.monotonic() - trial_started
            progress(describe(trial))
            previous = trial
        code, reference = run_complete_night(settings, night, log, dbt_tests)
        if previous is not None:
            finish_recovery(settings, previous, code, log)
            progress(f"round of {night}: the next run completed: {previous.recovered}"
                     + (f"; FAILURES: {previous.failures}" if previous.failures else ""))
    report.seconds = time.monotonic() - loop_started
    return report


def describe(trial: Trial) -> str:
    return (f"trial {trial.number}: target {trial.target_step} +{trial.delay_seconds:.2f} s, killed in "
            f"{trial.killed_step}; kept {trial.published_kept}, swapped {trial.published_swapped}, "
            f"opens {trial.opens}, {trial.seconds:.0f} s" + (f"; FAILURES: {trial.failures}" if trial.failures else ""))


def kill_one_run(settings: Settings, trial: Trial, kill_mode: str, log: Path, dbt_tests: bool) -> NightProcess:
    """Start the night, SIGKILL it at the trial's point, check the published warehouse."""
    before = sha256(settings.warehouse_path)
    victim = NightProcess(settings, trial.night, log, dbt_tests)
    if victim.wait_for_step(trial.target_step, timeout=900):
        time.sleep(trial.delay_seconds)
    trial.killed_stage, trial.killed_step = victim.current()
    if victim.process.poll() is None:
        victim.kill(kill_mode)
    else:
        trial.killed_stage, trial.killed_step = "done", "ended before the kill"
        trial.failures.append(f"the run ended (exit {victim.process.returncode}) before it reached "
                              f"{trial.target_step}: see {log}")
    victim.wait(timeout=120)
    # 1. the published warehouse is the last good one, or this run's complete copy (killed after the swap)
    after = sha256(settings.warehouse_path)
    if after == before:
        trial.published_kept = True
    elif after is not None and night_published_in_file(settings, trial.night):
        trial.published_swapped = True
        if trial.killed_stage not in ("publish", "finish", "done"):
            trial.failures.append(f"published file changed by a run killed in {trial.killed_step}")
    else:
        trial.failures.append("published file changed and does not record this night as published")
    # 2. it opens cleanly
    trial.opens, detail = published_state(settings, trial.night)
    if not trial.opens:
        trial.failures.append(f"published file does not open read-only: {detail}")
    return victim


def recovered_past(trial: Trial, next_run: NightProcess, order: dict[str, int]) -> None:
    """The run after ``trial``'s kill got past the step it was killed in, with no manual step."""
    reached = max((order.get(step, -1) for _, _, step in next_run.markers), default=-1)
    if reached > order.get(trial.killed_step, 10**6):
        trial.recovered = True
    else:
        trial.failures.append(f"the next run of {trial.night} did not get past {trial.killed_step} "
                              f"(reached {reached})")


def finish_recovery(settings: Settings, trial: Trial, code: int, log: Path) -> None:
    """The round's last run completed and published a readable warehouse, leaving nothing beside it."""
    if code != 0:
        trial.failures.append(f"the next run of {trial.night} failed (exit {code}): see {log}")
        return
    ok, detail = published_state(settings, trial.night)
    if not ok or not night_published_in_file(settings, trial.night):
        trial.failures.append(f"the next run did not publish a readable warehouse: {detail}")
        return
    leftovers = leftover_temporaries(settings)
    if leftovers:
        trial.failures.append(f"files left beside the published warehouse after the next publish: {leftovers}")
        return
    abandoned = runs_without_verdict(settings)
    if abandoned:
        trial.failures.append(f"the published audit.nights still shows killed runs as running: {abandoned}")
        return
    trial.recovered = True


def runs_without_verdict(settings: Settings) -> list[str]:
    """Runs the published file's ``audit.nights`` still shows as ``running`` (a killed run never got a verdict)."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return [run_id for (run_id,) in con.execute(
            "select run_id from audit.nights where status = 'running' order by started_at").fetchall()]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=int(os.environ.get("CRMWH_FAULT_TRIALS", "4")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CRMWH_FAULT_SEED", "7")))
    parser.add_argument("--home", type=Path, default=None, help="an empty folder to work in (default: a temporary one)")
    parser.add_argument("--kill-mode", choices=["group", "process"], default="group",
                        help="group: the night and its dbt child (a crash); process: only the night's process")
    parser.add_argument("--no-dbt-tests", action="store_true",
                        help="nights build dbt models without their data tests (what CI runs, to save time)")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="crmwh-fault-loop-"))
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    say(f"fault loop: {args.trials} trials, seed {args.seed}, kill mode {args.kill_mode}, "
        f"dbt tests {'off' if args.no_dbt_tests else 'on'}, home {home}")
    report = run_loop(home, args.trials, args.seed, args.kill_mode, not args.no_dbt_tests, progress=say)
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
