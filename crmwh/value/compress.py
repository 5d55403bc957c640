"""Sufficient-statistics compression: identical rows fitted once, with a count as weight.

Why: both likelihoods depend on a customer only through a few numbers; with day
resolution many of 1M customers share them (all one-time buyers of one day are
the same row), so the optimiser evaluates the likelihood on far fewer rows.
Rows are grouped by hashing (pandas factorize), linear in the row count;
``np.unique(axis=0)`` sorts structured rows and took seconds at 1M.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def compress_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows of the given equal-length float columns.

    Returns (unique columns, weights = how many customers per unique row,
    inverse = index of each input row's unique row, to expand results back).
    """
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    if not arrays or arrays[0].size == 0:
        empty = np.empty(0, dtype=np.float64)
        return [empty for _ in arrays], empty, np.empty(0, dtype=np.int64)
    codes = np.zeros(arrays[0].size, dtype=np.int64)
    for col in arrays:
        col_codes, col_uniques = pd.factorize(col)
        # mixed-radix combine, then re-factorize so the key never exceeds the row count
        codes, _ = pd.factorize(codes * np.int64(len(col_uniques)) + col_codes)
    n_unique = int(codes.max()) + 1
    first = np.empty(n_unique, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1, dtype=np.int64)
    weights = np.bincount(codes, minlength=n_unique).astype(np.float64)
    return [a[first] for a in arrays], weights, codes.astype(np.int64)
