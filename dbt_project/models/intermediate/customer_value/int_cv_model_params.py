"""The night's fitted parameters (INTERFACE shape), read back from int_cv_customer_scores: no second fit."""

from crmwh.value.nightly import params_from_scores


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.ref("int_cv_run_settings").df().iloc[0]
    first = dbt.ref("int_cv_customer_scores").limit(1).df()
    return params_from_scores(first, settings["as_of_date"], str(settings["time_unit"]))
