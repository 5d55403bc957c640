"""Superset settings for crmwh's docker-compose.yml (mounted at /app/pythonpath).

Secrets come from the environment (.env, never committed). Superset's own metadata lives
in SQLite on the ``superset-home`` volume; the warehouse is a read-only DuckDB database
(``duckdb:////opt/crmwh/warehouse/crm.duckdb?access_mode=read_only``) that
``superset-init`` registers.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = "sqlite:////app/superset_home/superset.db"
# New connection per query (Superset's default for analytics databases): every query opens
# the currently published file, so a night's publish is visible on the next query.
FEATURE_FLAGS = {"ALERT_REPORTS": False}
