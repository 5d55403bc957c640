"""The nightly pipeline's steps, as plain functions: the Airflow DAG and the CLI both call these."""
