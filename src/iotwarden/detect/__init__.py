"""Detectors that turn Observations and Flows into Alerts, one small module each, and the alert pipeline.

:data:`DETECTORS` is the one list of them ("module:Class", mitmproxy ``default_addons``); the
analyzer registry (``iotwarden.addons.DEFAULT_ANALYZERS``) runs them after the inventory, with the
pipeline (:class:`~iotwarden.detect.pipeline.AlertPipeline`) last.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from iotwarden import inputfile
from iotwarden.errors import ConfigError, describe

DETECTORS: tuple[str, ...] = (
    "iotwarden.detect.scan:ScanDetector",
    "iotwarden.detect.bruteforce:BruteForceDetector",
    "iotwarden.detect.rdp_bruteforce:RdpBruteForceDetector",
    "iotwarden.detect.kerberos_abuse:KerberosAbuseDetector",
    "iotwarden.detect.sip_recon:SipReconDetector",
    "iotwarden.detect.lateral:LateralDetector",
    "iotwarden.detect.remote_exec:RemoteExecDetector",
    "iotwarden.detect.beacon:BeaconDetector",
    "iotwarden.detect.c2_retry:CallbackDetector",
    "iotwarden.detect.c2_session:SessionDetector",
    "iotwarden.detect.c2_download:DownloadDetector",
    "iotwarden.detect.c2_mismatch:MismatchDetector",
    "iotwarden.detect.p2p:P2pDetector",
    "iotwarden.detect.p2p_udp:P2pUdpDetector",
    "iotwarden.detect.dns:DnsAnomalyDetector",
    "iotwarden.detect.dns_poll:DnsPollDetector",
    "iotwarden.detect.volume:VolumeDetector",
    "iotwarden.detect.new_protocol:NewProtocolDetector",
    "iotwarden.detect.arp:ArpSpoofDetector",
    "iotwarden.detect.dhcp:RogueDhcpDetector",
    "iotwarden.detect.ot:OtOperationDetector",
    "iotwarden.detect.ot_write:OtWriteDetector",
    "iotwarden.detect.anomaly:FlowAnomalyDetector",
    "iotwarden.policy.boundary:BoundaryMonitor",  # idle until its `policy` option names a policy file
    "iotwarden.policy.mud.detector:MudDetector",  # idle until `profiles` or `cache_dir` is set
)
PIPELINE = "iotwarden.detect.pipeline:AlertPipeline"
MAX_OPTIONS_BYTES = 1 << 20  # a detector options file larger than this is refused before it is read


def _load(spec: str) -> Any:
    module_name, class_name = spec.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def detector_classes() -> list[Any]:
    return [_load(spec) for spec in DETECTORS]


def default_detectors(options: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """A fresh instance of every detector; ``options`` maps a detector's name to its option values."""
    options = options or {}
    return [cls(options.get(cls.name)) for cls in detector_classes()]


def load_options(path: Path) -> dict[str, dict[str, Any]]:
    """Site tunables from YAML: ``{detector name: {option: value}}`` (names as ``detect.scan``)."""
    try:
        data = yaml.safe_load(inputfile.read_text(path, MAX_OPTIONS_BYTES)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"cannot read detector options {path}: {describe(exc)}") from None
    names = {cls.name for cls in detector_classes()}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"{path}: expected a mapping of detector name to a mapping of options")
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{path}: unknown detectors {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    try:
        default_detectors(data)  # validated once, here (STYLE 3): types and each option's declared range
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


def all_ids() -> list[str]:
    """Every stable detector id, in registry order."""
    return [i for cls in detector_classes() for i in cls.ids]
