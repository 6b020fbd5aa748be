"""Data-quality gates a batch must pass before it goes live."""

from minerva_core.quality.catalog_gate import GateConfig, GateResult, check_catalog, structural_failure

__all__ = ["GateConfig", "GateResult", "check_catalog", "structural_failure"]
