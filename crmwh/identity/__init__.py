"""Integrated customer identity: evaluation of the dbt identity models against the simulator's truth."""
