"""The one list of risk checks (mitmproxy ``default_addons``): adding a check is one line here."""

from __future__ import annotations

import importlib

from iotwarden.risk.base import Check

# "module:Class" of every default check, under iotwarden.risk.checks
CHECKS: tuple[str, ...] = (
    "cleartext_telnet:CleartextTelnet",
    "cleartext_ftp:CleartextFtp",
    "cleartext_http_basic:CleartextHttpBasic",
    "cleartext_rtsp:CleartextRtsp",
    "cleartext_ldap:CleartextLdap",
    "snmp_default_community:SnmpDefaultCommunity",
    "snmp_v1v2c:SnmpV1V2c",
    "smb_v1:SmbV1",
    "rdp_no_nla:RdpNoNla",
    "credentials_default:DefaultCredentials",
    "mqtt_anonymous:MqttAnonymous",
    "mqtt_cleartext:MqttCleartext",
    "dicom_cleartext:DicomCleartext",
    "knx_unsecured:KnxUnsecured",
    "knx_duplicate_address:KnxDuplicateAddress",
    "rtsp_unauthenticated_stream:RtspUnauthenticatedStream",
    "upnp_exposed:UpnpExposed",
    "sadp_unactivated:SadpUnactivated",
    "p2p_exposed:P2pExposed",
    "tls_weak_version:TlsWeakVersion",
    "tls_weak_cipher:TlsWeakCipher",
    "tls_self_signed:TlsSelfSigned",
    "tls_expired:TlsExpired",
    "firmware_outdated:FirmwareOutdated",
    "ot_unauthorized_write:OtUnauthorizedWrite",
    "ot_program_change:OtProgramChange",
    "ot_cpu_stop:OtCpuStop",
    "ot_firmware_update:OtFirmwareUpdate",
    "exposure_many_external:ManyExternalDestinations",
)


def check_classes() -> list[type[Check]]:
    """Every registered check class, in registry order."""
    out: list[type[Check]] = []
    for spec in CHECKS:
        module_name, class_name = spec.split(":")
        module = importlib.import_module(f"iotwarden.risk.checks.{module_name}")
        out.append(getattr(module, class_name))
    return out


def default_checks() -> list[Check]:
    """A fresh instance of every registered check."""
    return [cls() for cls in check_classes()]


def catalogue() -> list[dict[str, object]]:
    """Id, title, default severity, references and options of every check (docs, ``findings checks``)."""
    return [
        {
            "id": cls.id, "title": cls.title, "severity": cls.severity, "remediation": cls.remediation,
            "references": list(cls.references),
            "options": [{"name": o.name, "type": o.kind.__name__, "default": o.default, "help": o.help}
                        for o in cls.options],
        }
        for cls in check_classes()
    ]
