"""crmwh: a CRM data warehouse on Airflow, dbt and DuckDB."""

__version__ = "0.1.0"
