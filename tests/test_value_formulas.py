"""The documents' lifetime-value formulas, on hand-computed cases (crmwh.value.formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from crmwh.errors import CrmwhError
from crmwh.value.formulas import discounted_lifetime_value, perpetual_lifetime_value, simple_lifetime_value


def test_fedex_example_is_180000() -> None:
    """DOMAIN.md (FedEx case of the CRM documents): 1,500 a month x 12 x 10 years = 180,000.

    The document prints 360,000; the arithmetic (and this test) says 180,000.
    """
    assert simple_lifetime_value(1500, 10) == pytest.approx(180_000.0)
    assert simple_lifetime_value(1500, 10) != pytest.approx(360_000.0)


def test_simple_formula_is_vectorised() -> None:
    out = simple_lifetime_value(np.array([1500.0, 100.0]), np.array([10.0, 0.5]))
    np.testing.assert_allclose(out, [180_000.0, 600.0])


def test_discounted_value_hand_computed() -> None:
    """margin 100, retention 0.8, discount 10 %, 3 periods: 100 + 80/1.1 + 64/1.21."""
    expected = 100.0 + 80.0 / 1.1 + 64.0 / 1.21  # 225.6198...
    assert discounted_lifetime_value(100.0, 0.8, 0.10, 3) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(225.6198, abs=1e-4)


def test_discounted_value_reduces_to_fedex_without_churn_or_discount() -> None:
    """Retention 1 and discount 0: the margin variant equals the simple formula (120 months)."""
    assert discounted_lifetime_value(1500.0, 1.0, 0.0, 120) == pytest.approx(180_000.0)


def test_discounted_value_matches_explicit_sum_per_customer() -> None:
    margin = np.array([50.0, 200.0, 0.0])
    retention = np.array([0.5, 0.95, 0.7])
    rate = np.array([0.01, 0.0, 0.2])
    n = 24
    t = np.arange(n)
    explicit = [(m * (r**t) / (1 + d) ** t).sum() for m, r, d in zip(margin, retention, rate)]
    np.testing.assert_allclose(discounted_lifetime_value(margin, retention, rate, n), explicit, rtol=1e-12)


def test_zero_periods_is_zero_and_perpetual_is_the_limit() -> None:
    assert discounted_lifetime_value(100.0, 0.8, 0.1, 0) == 0.0
    long_run = discounted_lifetime_value(100.0, 0.8, 0.1, 2000)
    assert perpetual_lifetime_value(100.0, 0.8, 0.1) == pytest.approx(long_run)
    assert perpetual_lifetime_value(100.0, 0.8, 0.1) == pytest.approx(100.0 * 1.1 / 0.3)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [((100.0, 1.2, 0.1, 3), "retention"), ((100.0, 0.5, -1.0, 3), "discount"), ((100.0, 0.5, 0.1, -1), "periods")],
)
def test_invalid_inputs_raise_user_errors(args: tuple, fragment: str) -> None:
    with pytest.raises(CrmwhError, match=fragment):
        discounted_lifetime_value(*args)


def test_perpetual_value_refuses_infinite_case() -> None:
    with pytest.raises(CrmwhError, match="infinite"):
        perpetual_lifetime_value(100.0, 1.0, 0.0)
