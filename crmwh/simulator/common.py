"""Shared helpers of the simulator: seeded random streams, time axis, id formatting.

Times inside the simulated world are float *days* since the start of the
simulated history (day 0 = ``start - history_days``). They are turned into
UTC timestamps only when a table is finished, so every model can do plain
arithmetic on them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SCALES: dict[str, int] = {"xs": 1_000, "s": 10_000, "m": 100_000, "l": 1_000_000}

# Later nights are simulated for at least this many days so that the first
# nights of a 7-night and of a 300-night run are the same (the random draws of
# every model do not depend on the number of nights).
MIN_FUTURE_DAYS = 365


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, model, entity, night)."""
    words = [int(seed) & 0xFFFFFFFF]
    for key in keys:
        words.append(zlib.crc32(str(key).encode("utf-8")))
    return np.random.default_rng(np.random.SeedSequence(words))


@dataclass(frozen=True)
class Clock:
    """The simulated time axis: day 0 is the start of history, ``start_day`` is night 1."""

    start: date
    history_days: int
    nights: int

    @property
    def origin(self) -> date:
        return self.start - timedelta(days=self.history_days)

    @property
    def start_day(self) -> int:
        return self.history_days

    @property
    def last_day(self) -> int:
        """Index of the last simulated night's day (inclusive)."""
        return self.history_days + self.nights - 1

    @property
    def span(self) -> float:
        """Days the models draw events for (independent of ``nights`` up to a year)."""
        return float(self.history_days + max(self.nights, MIN_FUTURE_DAYS))

    @property
    def origin_epoch(self) -> int:
        return int(datetime(self.origin.year, self.origin.month, self.origin.day, tzinfo=timezone.utc).timestamp())

    def night_date(self, night: int) -> date:
        return self.start + timedelta(days=night - 1)

    def to_epoch(self, days: np.ndarray) -> np.ndarray:
        """Float days → int64 epoch seconds (NaN stays NaN as float)."""
        return self.origin_epoch + np.floor(np.asarray(days, dtype=np.float64) * 86400.0)


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Vectorised ``f"{prefix}{n:0{width}d}"``."""
    text = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    padded = pc.utf8_lpad(text, width=width, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "")


def pick(pool: list[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """Strings of ``pool`` at ``index`` (as an Arrow array)."""
    arr = pool if isinstance(pool, pa.Array) else pa.array(pool, pa.string())
    return arr.take(pa.array(np.asarray(index, dtype=np.int64)))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """``values`` with nulls where ``mask`` is true."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, values.type), values)


def choose_where(mask: np.ndarray, when_true: pa.Array, when_false: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), when_true, when_false)


def categorical(rng: np.random.Generator, n: int, weights: dict[str, float]) -> tuple[np.ndarray, list[str]]:
    """Draw ``n`` category indices with the given weights; returns (indices, labels)."""
    labels = list(weights)
    p = np.array([weights[k] for k in labels], dtype=np.float64)
    return rng.choice(len(labels), size=n, p=p / p.sum()), labels


def poisson_events(
    rng: np.random.Generator, starts: np.ndarray, ends: np.ndarray, rate_per_day: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous Poisson events on [start, end) per owner: (owner index, time)."""
    starts = np.asarray(starts, dtype=np.float64)
    length = np.clip(np.asarray(ends, dtype=np.float64) - starts, 0.0, None)
    counts = rng.poisson(np.asarray(rate_per_day, dtype=np.float64) * length)
    owner = np.repeat(np.arange(len(starts)), counts)
    times = starts[owner] + rng.random(owner.size) * length[owner]
    return owner, times


def group_rank(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal (sorted) keys."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    new_group = np.empty(keys.size, dtype=bool)
    new_group[0] = True
    new_group[1:] = keys[1:] != keys[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(keys.size), 0))
    return np.arange(keys.size) - group_start


def money(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64), 2)


def make_table(columns: dict[str, object], pk: np.ndarray, t: np.ndarray, party: np.ndarray | None = None,
               person: np.ndarray | None = None, extra: dict[str, object] | None = None) -> pa.Table:
    """One world table: contract columns (times as float days) plus hidden helper columns.

    ``_pk`` groups versions of one record, ``_t`` is the version's change time
    (float days), ``_party``/``_person`` are the ground truth for identity rows.
    """
    n = len(pk)
    data: dict[str, object] = {}
    for name, values in {**columns, **(extra or {})}.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            data[name] = values
        elif values is None:
            data[name] = pa.nulls(n, pa.string())
        else:
            arr = np.asarray(values)
            if arr.dtype == object:
                data[name] = pa.array(arr, pa.string())
            elif arr.dtype.kind == "f":
                data[name] = pa.array(arr, mask=np.isnan(arr))
            else:
                data[name] = pa.array(arr)
    data["_pk"] = pa.array(np.asarray(pk, dtype=np.int64))
    data["_t"] = pa.array(np.asarray(t, dtype=np.float64))
    data["_party"] = pa.array(np.full(n, -1) if party is None else np.asarray(party, dtype=np.int64))
    data["_person"] = pa.array(np.full(n, -1) if person is None else np.asarray(person, dtype=np.int64))
    return pa.table(data)


def bool_or_null(values: np.ndarray, null_mask: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), mask=np.asarray(null_mask, dtype=bool))


def segment_cumsum(values: np.ndarray, first_of_group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (rows sorted by group)."""
    total = np.cumsum(values)
    start_idx = np.maximum.accumulate(np.where(first_of_group, np.arange(values.size), 0))
    return total - total[start_idx] + values[start_idx]
