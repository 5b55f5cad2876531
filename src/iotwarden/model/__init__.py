"""Typed domain records: plain data, no I/O. Everything downstream of the engine sees only these."""

from iotwarden.model.device import CLASSIFIED_FIELDS, Conclusion, Device
from iotwarden.model.flow import Flow, FlowKey
from iotwarden.model.observation import Observation
from iotwarden.model.stats import CaptureStats

__all__ = ["CLASSIFIED_FIELDS", "CaptureStats", "Conclusion", "Device", "Flow", "FlowKey", "Observation"]
