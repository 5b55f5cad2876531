"""Risk: checks that turn what the traffic showed into Findings (one small module per check under
``checks/``), the registry listing them, the analyzer that runs them, and the risk scorer."""

from iotwarden.risk.analyzer import RiskAnalyzer
from iotwarden.risk.base import Check, Option
from iotwarden.risk.registry import CHECKS, catalogue, check_classes, default_checks
from iotwarden.risk.scorer import band, device_score, fleet_score

__all__ = [
    "CHECKS", "Check", "Option", "RiskAnalyzer", "band", "catalogue", "check_classes", "default_checks",
    "device_score", "fleet_score",
]
