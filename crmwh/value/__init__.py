"""Customer-value estimation: RFM summary, BG/NBD, Gamma-Gamma and the documents' formulas.

A pure library (numpy/scipy/pandas, no database): the nightly pipeline hands it
transactions and an as-of date and writes what it returns to the marts.
"""

from crmwh.value.formulas import discounted_lifetime_value, perpetual_lifetime_value, simple_lifetime_value
from crmwh.value.models import (
    CustomerValueFit,
    expected_purchases_column,
    fit_customer_value,
    fit_customer_value_models,
)
from crmwh.value.rfm_summary import RfmSummary, rfm_summary, summarise_transactions

__all__ = [
    "CustomerValueFit",
    "RfmSummary",
    "discounted_lifetime_value",
    "expected_purchases_column",
    "fit_customer_value",
    "fit_customer_value_models",
    "perpetual_lifetime_value",
    "rfm_summary",
    "simple_lifetime_value",
    "summarise_transactions",
]
