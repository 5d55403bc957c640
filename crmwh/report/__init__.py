"""``crmwh report``: a self-contained HTML report with plots from the published warehouse."""

from crmwh.report.build import build_report

__all__ = ["build_report"]
