"""Simulated CRM source systems (CRM, ERP, helpdesk, call center) for ``crmwh generate``.

Deterministic for a seed, vectorised with numpy/pyarrow, with ground truth for
identities and every injected defect in ``<out>/_truth/``.
"""

from crmwh.simulator.common import SCALES
from crmwh.simulator.generate import DEFAULT_START, DIRT_KINDS, GenerateResult, generate

__all__ = ["DEFAULT_START", "DIRT_KINDS", "GenerateResult", "SCALES", "generate"]
