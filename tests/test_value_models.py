"""RFM summary, BG/NBD and Gamma-Gamma estimators (crmwh.value), checked against the literature.

Published reference: Fader, Hardie & Lee (2005), "Counting Your Customers the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2),
and Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", JMR 42(4) / Fader & Hardie (2013), "The Gamma-Gamma
Model of Monetary Value": the CDNOW 1/10 sample (2,357 customers, weekly,
calibration to 1997-09-30). The data ship inside the `lifetimes` wheel (a test
dependency), read with importlib.resources.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import io

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from crmwh.errors import CrmwhError
from crmwh.value import bg_nbd, gamma_gamma
from crmwh.value.bench import run as run_bench
from crmwh.value.models import expected_purchases_column, fit_customer_value, fit_customer_value_models
from crmwh.value.rfm_summary import summarise_transactions

CDNOW_CALIBRATION_END = "1997-09-30"
# Fader, Hardie & Lee (2005) "Counting your customers the easy way", CDNOW sample, weeks.
PUBLISHED_BG_NBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BG_NBD_LL = -9582.4
# Fader, Hardie & Lee (2005) "RFM and CLV"; Fader & Hardie (2013) gamma-gamma note: 946 repeat buyers.
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def _dataset(name: str) -> str:
    return (importlib.resources.files("lifetimes") / "datasets" / name).read_text()


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(
        io.StringIO(_dataset("CDNOW_sample.txt")),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "amount"],
    )
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return tx


@pytest.fixture(scope="module")
def cdnow_published_summary() -> pd.DataFrame:
    """The authors' own CBS (x, t_x, T, zbar) as distributed with the paper's spreadsheet."""
    return pd.read_csv(io.StringIO(_dataset("cdnow_customers_summary_with_transactions.csv"))).set_index("ID")


@pytest.fixture(scope="module")
def cdnow_bg_fit(cdnow_published_summary: pd.DataFrame) -> bg_nbd.BgNbdFit:
    s = cdnow_published_summary
    return bg_nbd.fit(s["x"], s["t_x"], s["T"])


# ---------------------------------------------------------------- RFM summary


def _hand_transactions() -> pd.DataFrame:
    rows = [
        # A: two orders on 01-01 merge into one purchase day (15); repeats 20 and 30; one order after as-of.
        ("A", "2026-01-01", 10.0, 3.0),
        ("A", "2026-01-01", 5.0, 2.0),
        ("A", "2026-01-08", 20.0, 4.0),
        ("A", "2026-01-15", 30.0, 6.0),
        ("A", "2026-02-05", 100.0, 50.0),
        # B: one purchase a week before as-of.
        ("B", "2026-01-22", 40.0, 10.0),
        # C: first and last purchase 4 weeks apart, the last on the as-of date itself (included).
        ("C", "2026-01-01", 12.0, 1.0),
        ("C", "2026-01-29", 8.0, 2.0),
        # a row without customer: excluded and counted
        (None, "2026-01-10", 99.0, 9.0),
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "margin"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    return tx


def test_summary_hand_computed_weeks() -> None:
    s = summarise_transactions(_hand_transactions(), "2026-01-29", "week")
    c = s.customers.set_index("customer_id").sort_index()
    assert list(c.index) == ["A", "B", "C"]
    assert c["frequency"].tolist() == [2, 0, 1]
    np.testing.assert_allclose(c["recency"], [2.0, 0.0, 4.0])
    np.testing.assert_allclose(c["T"], [4.0, 1.0, 4.0])
    np.testing.assert_allclose(c["monetary_value"], [25.0, 0.0, 8.0])  # A: (20 + 30) / 2
    np.testing.assert_allclose(c["total_amount"], [65.0, 40.0, 20.0])
    np.testing.assert_allclose(c["total_margin"], [15.0, 10.0, 3.0])
    np.testing.assert_allclose(c["monetary_margin"], [5.0, 0.0, 2.0])
    assert c.loc["A", "first_purchase_date"] == pd.Timestamp("2026-01-01")
    assert c.loc["A", "last_purchase_date"] == pd.Timestamp("2026-01-15")
    assert (s.n_transactions_in, s.n_transactions_used, s.n_after_as_of, s.n_missing_key) == (9, 7, 1, 1)


def test_summary_hand_computed_days() -> None:
    c = summarise_transactions(_hand_transactions(), dt.date(2026, 1, 29), "day").customers
    c = c.set_index("customer_id").sort_index()
    np.testing.assert_allclose(c["recency"], [14.0, 0.0, 28.0])
    np.testing.assert_allclose(c["T"], [28.0, 7.0, 28.0])


def test_summary_reproduces_published_cdnow_cbs(
    cdnow_transactions: pd.DataFrame, cdnow_published_summary: pd.DataFrame
) -> None:
    """Our summary of the raw CDNOW sample equals the authors' CBS (rounded to 2 decimals)."""
    s = summarise_transactions(cdnow_transactions, CDNOW_CALIBRATION_END, "week")
    c = s.customers.set_index("customer_id").sort_index()
    ref = cdnow_published_summary
    assert len(c) == 2357 and s.n_after_as_of > 0
    assert (c["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    np.testing.assert_allclose(c["recency"], ref["t_x"], atol=0.005)
    np.testing.assert_allclose(c["T"], ref["T"], atol=0.005)
    np.testing.assert_allclose(c["monetary_value"], ref["zbar"], atol=0.005)


def test_summary_rejects_bad_input() -> None:
    tx = _hand_transactions()
    with pytest.raises(CrmwhError, match="time unit"):
        summarise_transactions(tx, "2026-01-29", "month")
    with pytest.raises(CrmwhError, match="amount"):
        summarise_transactions(tx.drop(columns="amount"), "2026-01-29")


# ---------------------------------------------------------------- BG/NBD


def test_bg_nbd_matches_fader_hardie_lee_2005(cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    """Fader, Hardie & Lee (2005), Marketing Science 24(2), CDNOW sample: r=0.243, alpha=4.414,
    a=0.793, b=2.426, LL=-9582.4 (2,357 customers, weeks)."""
    fit = cdnow_bg_fit
    assert fit.status == "ok" and fit.converged
    assert fit.n_customers == 2357 and fit.n_repeat_buyers == 946
    for name, value in PUBLISHED_BG_NBD.items():
        assert fit.params()[name] == pytest.approx(value, rel=1e-2), name
        assert fit.params()[name] == pytest.approx(value, abs=1e-3), name  # the paper's 3 decimals
    assert fit.log_likelihood == pytest.approx(PUBLISHED_BG_NBD_LL, abs=0.05)


def test_bg_nbd_from_raw_cdnow_transactions(cdnow_transactions: pd.DataFrame) -> None:
    """Same published figures (Fader, Hardie & Lee 2005) starting from the raw CDNOW transaction file."""
    params, _ = fit_customer_value_models(cdnow_transactions, CDNOW_CALIBRATION_END, "week")
    bg = params[params["model"] == "bg_nbd"].set_index("param")
    for name, value in PUBLISHED_BG_NBD.items():
        assert float(bg.loc[name, "value"]) == pytest.approx(value, rel=1e-2), name
    assert float(bg["log_likelihood"].iloc[0]) == pytest.approx(PUBLISHED_BG_NBD_LL, abs=1.0)


def test_bg_nbd_conditional_expectation_matches_hardie_spreadsheet(cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    """Fader, Hardie & Lee (2005) worked example: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in 39 weeks."""
    e = cdnow_bg_fit.conditional_expected_purchases(39.0, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert e[0] == pytest.approx(1.226, abs=1e-3)


def test_bg_nbd_agrees_with_lifetimes(cdnow_published_summary: pd.DataFrame, cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    """Secondary check: the `lifetimes` 0.11.3 BetaGeoFitter on the same CDNOW data."""
    from lifetimes import BetaGeoFitter

    s = cdnow_published_summary
    ref = BetaGeoFitter().fit(s["x"], s["t_x"], s["T"])
    for name in ("r", "alpha", "a", "b"):
        assert cdnow_bg_fit.params()[name] == pytest.approx(ref.params_[name], rel=1e-4)
    x, tx, big_t = s["x"].to_numpy(float), s["t_x"].to_numpy(float), s["T"].to_numpy(float)
    ours = cdnow_bg_fit.conditional_expected_purchases(39.0, x, tx, big_t)
    theirs = ref.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, big_t)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        cdnow_bg_fit.p_alive(x, tx, big_t), ref.conditional_probability_alive(x, tx, big_t), rtol=1e-4
    )


def test_bg_nbd_analytic_gradient_matches_numeric(cdnow_published_summary: pd.DataFrame) -> None:
    s = cdnow_published_summary
    x, tx, big_t = s["x"].to_numpy(float), s["t_x"].to_numpy(float), s["T"].to_numpy(float)
    u = np.log([0.5, 3.0, 0.7, 2.0])
    _, grad = bg_nbd.log_likelihood_terms(u, x, tx, big_t, with_grad=True)
    numeric = approx_fprime(u, lambda v: bg_nbd.log_likelihood_terms(v, x, tx, big_t)[0].sum(), 1e-7)
    np.testing.assert_allclose(grad.sum(axis=1), numeric, rtol=1e-4)


def test_p_alive_is_one_without_repeat_purchases(cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    """In BG/NBD drop-out happens only right after a purchase, so x = 0 means alive (paper, eq. 13)."""
    palive = cdnow_bg_fit.p_alive(np.zeros(3), np.zeros(3), np.array([0.0, 10.0, 500.0]))
    assert (palive == 1.0).all()
    some = cdnow_bg_fit.p_alive(np.array([3.0]), np.array([5.0]), np.array([38.0]))
    assert 0.0 < some[0] < 1.0


def test_expected_purchases_monotone_in_t(cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    t = np.linspace(0.0, 520.0, 200)
    unconditional = cdnow_bg_fit.expected_purchases(t)
    assert unconditional[0] == 0.0
    assert (np.diff(unconditional) > 0).all()
    for x, tx, big_t in [(0, 0, 38.86), (2, 30.43, 38.86), (7, 37.0, 38.0), (1, 1.0, 38.0)]:
        n = t.size
        cond = cdnow_bg_fit.conditional_expected_purchases(
            t, np.full(n, float(x)), np.full(n, float(tx)), np.full(n, float(big_t))
        )
        assert np.isfinite(cond).all()
        assert (np.diff(cond) > 0).all()


def test_quadrature_fallback_agrees_with_closed_form(cdnow_bg_fit: bg_nbd.BgNbdFit) -> None:
    """Independent arithmetic path: integrating over p's posterior equals the 2F1 closed form."""
    f = cdnow_bg_fit
    x = np.array([0.0, 1.0, 2.0, 5.0, 12.0])
    big_t = np.array([38.86, 38.0, 38.86, 30.0, 38.0])
    t = np.full(5, 39.0)
    closed = f.conditional_expected_purchases(t, x, np.minimum(big_t, [0.0, 1.0, 30.43, 29.0, 37.0]), big_t)
    palive = f.p_alive(x, np.minimum(big_t, [0.0, 1.0, 30.43, 29.0, 37.0]), big_t)
    quad = bg_nbd._expected_by_quadrature(f.r, f.alpha, f.a, f.b, x, big_t, t) * palive
    np.testing.assert_allclose(closed, quad, rtol=1e-6)


def test_time_unit_day_is_the_same_model(cdnow_transactions: pd.DataFrame) -> None:
    """Fitting in days rescales alpha by 7 and leaves r, a, b and forecasts unchanged."""
    weeks = fit_customer_value(cdnow_transactions, CDNOW_CALIBRATION_END, "week", horizon=52)
    days = fit_customer_value(cdnow_transactions, CDNOW_CALIBRATION_END, "day", horizon=364)
    assert days.bg_nbd.alpha == pytest.approx(weeks.bg_nbd.alpha * 7.0, rel=1e-4)
    for name in ("r", "a", "b"):
        assert days.bg_nbd.params()[name] == pytest.approx(weeks.bg_nbd.params()[name], rel=1e-4)
    np.testing.assert_allclose(
        days.customers["expected_purchases_364d"].to_numpy(float),
        weeks.customers["expected_purchases_52w"].to_numpy(float),
        rtol=1e-4,
    )


# ---------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_matches_published_cdnow(cdnow_published_summary: pd.DataFrame) -> None:
    """Fader, Hardie & Lee (2005) "RFM and CLV" / Fader & Hardie (2013) "The Gamma-Gamma Model of
    Monetary Value": CDNOW, 946 repeat buyers, p=6.25, q=3.74, gamma=15.44."""
    s = cdnow_published_summary
    fit = gamma_gamma.fit(s["x"], s["zbar"])
    assert fit.status == "ok" and fit.n_customers == 946
    for name, value in PUBLISHED_GAMMA_GAMMA.items():
        assert fit.params()[name] == pytest.approx(value, rel=1e-2), name
    # population mean spend p v / (q - 1) ~ $35.2 in the papers
    assert fit.population_mean_spend() == pytest.approx(35.2, abs=0.1)


def test_gamma_gamma_agrees_with_lifetimes(cdnow_published_summary: pd.DataFrame) -> None:
    """Secondary check: `lifetimes` 0.11.3 GammaGammaFitter on the same 946 repeat buyers."""
    from lifetimes import GammaGammaFitter

    s = cdnow_published_summary
    rep = s[s["x"] > 0]
    ref = GammaGammaFitter().fit(rep["x"], rep["zbar"])
    fit = gamma_gamma.fit(s["x"], s["zbar"])
    for name in ("p", "q", "v"):
        assert fit.params()[name] == pytest.approx(ref.params_[name], rel=1e-4)
    ours = fit.conditional_expected_average_spend(s["x"].to_numpy(float), s["zbar"].to_numpy(float))
    theirs = ref.conditional_expected_average_profit(s["x"], s["zbar"]).to_numpy(float)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_gamma_gamma_gradient_matches_numeric(cdnow_published_summary: pd.DataFrame) -> None:
    s = cdnow_published_summary[cdnow_published_summary["x"] > 0]
    x, m = s["x"].to_numpy(float), s["zbar"].to_numpy(float)
    u = np.log([2.0, 3.0, 10.0])
    _, grad = gamma_gamma.log_likelihood_terms(u, x, m, with_grad=True)
    numeric = approx_fprime(u, lambda v: gamma_gamma.log_likelihood_terms(v, x, m)[0].sum(), 1e-7)
    np.testing.assert_allclose(grad.sum(axis=1), numeric, rtol=1e-4)


# ---------------------------------------------------------------- façade and degenerate cases


def test_facade_shapes_on_cdnow(cdnow_transactions: pd.DataFrame) -> None:
    params, customers = fit_customer_value_models(cdnow_transactions, CDNOW_CALIBRATION_END, "week", horizon=39)
    assert list(params.columns) == [
        "model", "param", "value", "time_unit", "n_customers", "log_likelihood", "as_of_date", "status"
    ]
    assert params[["model", "param"]].apply(tuple, axis=1).tolist() == [
        ("bg_nbd", "r"), ("bg_nbd", "alpha"), ("bg_nbd", "a"), ("bg_nbd", "b"),
        ("gamma_gamma", "p"), ("gamma_gamma", "q"), ("gamma_gamma", "v"),
    ]
    assert set(params["status"]) == {"ok"} and set(params["time_unit"]) == {"week"}
    assert params.loc[params["model"] == "bg_nbd", "n_customers"].iloc[0] == 2357
    assert params.loc[params["model"] == "gamma_gamma", "n_customers"].iloc[0] == 946
    assert params["as_of_date"].iloc[0] == dt.date(1997, 9, 30)
    col = expected_purchases_column(39, "week")
    assert col == "expected_purchases_39w"
    head = ["customer_id", "as_of_date", "frequency", "recency", "T", "monetary_value", col, "p_alive",
            "expected_avg_spend"]
    assert list(customers.columns[: len(head)]) == head
    assert len(customers) == 2357
    for c in (col, "p_alive", "expected_avg_spend"):
        assert customers[c].notna().all() and np.isfinite(customers[c].to_numpy(float)).all()
    assert (customers.loc[customers["frequency"] == 0, "p_alive"] == 1.0).all()
    one_timers = customers.loc[customers["frequency"] == 0, "expected_avg_spend"].to_numpy(float)
    np.testing.assert_allclose(one_timers, 6.2488 * 15.4477 / (3.7446 - 1.0), rtol=1e-3)


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    return tx


DEGENERATE = {
    "no_customers": (_tx([]), "no_customers", "no_customers"),
    "one_customer": (
        _tx([("a", "2026-01-01", 10.0), ("a", "2026-02-01", 20.0)]),
        "too_few_customers",
        "insufficient_repeat_buyers",
    ),
    "no_repeat_buyers": (
        _tx([(c, f"2026-01-0{i + 1}", 10.0) for i, c in enumerate("abcde")]),
        "insufficient_repeat_buyers",
        "insufficient_repeat_buyers",
    ),
    "zero_spend": (
        _tx([(c, d, 0.0) for c in "abcdef" for d in ("2026-01-01", "2026-02-03", "2026-03-09")]
            + [("g", "2026-01-05", 5.0)]),
        None,
        "insufficient_repeat_buyers",
    ),
    "negative_spend": (
        _tx([(c, d, -5.0) for c in "abcdef" for d in ("2026-01-01", "2026-02-01")] + [("g", "2026-01-05", 5.0)]),
        None,
        "insufficient_repeat_buyers",
    ),
    "all_identical": (
        _tx([(c, d, 10.0) for c in "abcdefgh" for d in ("2026-01-01", "2026-02-01", "2026-03-01")]),
        "boundary_solution",
        "boundary_solution",
    ),
    "everything_after_as_of": (_tx([("a", "2026-07-01", 10.0)]), "no_customers", "no_customers"),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_cases_give_status_not_nan(case: str) -> None:
    tx, bg_status, gg_status = DEGENERATE[case]
    result = fit_customer_value(tx, "2026-06-30", "week")
    params, customers = result.params, result.customers
    statuses = params.groupby("model")["status"].first().to_dict()
    if bg_status is not None:
        assert statuses["bg_nbd"] == bg_status
    else:
        assert statuses["bg_nbd"] in {"ok", "boundary_solution", "not_converged"}
    assert statuses["gamma_gamma"] == gg_status
    assert len(params) == 7
    for frame in (params, customers):
        for col in frame.columns:
            if pd.api.types.is_float_dtype(frame[col]):
                present = frame[col].dropna().to_numpy(float)
                assert np.isfinite(present).all(), (case, col)
                assert not frame[col].isna().to_numpy().any() or frame[col].dtype == "Float64", (case, col)
    if statuses["bg_nbd"] == "insufficient_repeat_buyers":
        assert (customers["expected_purchases_52w"] == 0.0).all()
        assert customers["p_alive"].isna().all()
    if not result.bg_nbd.has_params:
        assert params.loc[params["model"] == "bg_nbd", "value"].isna().all()


def test_zero_spend_customers_are_counted_and_get_null_spend() -> None:
    tx, _, _ = DEGENERATE["zero_spend"]
    result = fit_customer_value(tx, "2026-06-30")
    assert result.gamma_gamma.n_excluded_nonpositive == 6
    spend = result.customers.set_index("customer_id")["expected_avg_spend"]
    assert spend.loc[list("abcdef")].isna().all()
    assert spend.loc["g"] == 5.0  # fallback: own mean purchase amount


def test_penalizer_keeps_a_tiny_sample_interior() -> None:
    tx, _, _ = DEGENERATE["all_identical"]
    result = fit_customer_value(tx, "2026-06-30", penalizer=0.1)
    assert result.bg_nbd.status == "ok" and result.gamma_gamma.status == "ok"
    assert np.isfinite(result.customers["p_alive"].to_numpy(float)).all()


def test_bench_recovers_simulated_parameters_small() -> None:
    """Not a timing test: the simulation + fit pipeline of the benchmark, at 20k customers."""
    result = run_bench(20_000, verbose=False)
    assert result.statuses == {"bg_nbd": "ok", "gamma_gamma": "ok"}
    assert result.bg_nbd["r"] == pytest.approx(1.0, rel=0.25)
    assert result.bg_nbd["a"] == pytest.approx(0.6, rel=0.25)
    assert result.gamma_gamma["q"] == pytest.approx(4.0, rel=0.25)
