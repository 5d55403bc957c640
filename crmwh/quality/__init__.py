"""Quality gates of the nightly run: Great Expectations suites from ``expectations/``.

``crmwh.quality.gates.run_gates`` is the entry point; see that module for how the
gates run and why GX reads DataFrames rather than DuckDB through SQLAlchemy.
"""
