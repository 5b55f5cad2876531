"""Protocol dissectors, one module each, listed in one registry.

Each module defines one :class:`~iotwarden.dissect.base.Dissector` subclass; :func:`default_dissectors`
is the only place that lists them (mitmproxy's ``default_addons``). The engine builds its dispatch
tables from their declarations and never names a protocol itself.
"""

from __future__ import annotations

import importlib
from functools import cache

from iotwarden.dissect.base import Dissector, Packet, StreamDissector

# module name -> class name, in dispatch priority order (first match wins on shared ports)
REGISTRY: tuple[tuple[str, str], ...] = (
    ("arp", "ArpDissector"),
    ("lldp", "LldpDissector"),
    ("cdp", "CdpDissector"),
    ("pn_dcp", "PnDcpDissector"),  # PROFINET DCP (ethertype 0x8892): station names, types, ids; Set requests
    ("goose", "GooseDissector"),  # IEC 61850 GOOSE (0x88B8) and Sampled Values (0x88BA) publishers
    ("wps", "WpsDissector"),  # WSC device information in 802.11 Probe and (Re)Association Requests
    ("dhcp", "DhcpDissector"),
    ("dhcpv6", "Dhcpv6Dissector"),
    ("dns", "DnsDissector"),
    ("mdns", "MdnsDissector"),
    ("llmnr", "LlmnrDissector"),
    ("netbios", "NetbiosDissector"),
    ("ssdp", "SsdpDissector"),
    ("wsd", "WsdDissector"),  # WS-Discovery udp/3702: ONVIF cameras, WSD printers, Windows computers
    ("sadp", "SadpDissector"),  # Hikvision SADP udp/37020 (XML search and answers), ethertype 0x8033 (binary)
    ("dhip", "DhipDissector"),
    ("kasa", "KasaDissector"),  # TP-Link Kasa udp/tcp 9999 sysinfo, TDP udp/20002 (Tapo, newer Kasa) discovery
    ("tuya", "TuyaDissector"),  # Tuya discovery udp/6666 (3.1), 6667 (3.3/3.4, AES-ECB), 7000 (3.5, AES-GCM)
    ("ntp", "NtpDissector"),
    ("snmp", "SnmpDissector"),
    ("coap", "CoapDissector"),
    ("http", "HttpDissector"),
    ("rtsp", "RtspDissector"),  # 554/8554; probed elsewhere by RTSP/x.y start lines, never HTTP's
    ("sip", "SipDissector"),  # udp/tcp 5060; probed elsewhere by SIP/2.0 start lines, never HTTP's or RTSP's
    ("tls", "TlsDissector"),
    ("quic", "QuicDissector"),  # udp/443, 853: the TLS hellos of QUIC Initial packets (RFC 9001)
    ("ssh", "SshDissector"),
    ("openvpn", "OpenvpnDissector"),
    ("teamviewer", "TeamviewerDissector"),
    ("telnet", "TelnetDissector"),
    ("ftp", "FtpDissector"),
    ("pjl", "PjlDissector"),  # HP JetDirect raw printing tcp/9100: PJL commands' names, the printer's replies
    ("pjlink", "PjlinkDissector"),  # PJLink tcp/4352: a projector's or display's greeting, maker, product, class;
    # udp/4352: Class 2 search (SRCH, ACKN=<MAC>) and status notifications (LKUP=<MAC>, ERST, POWR, INPT)
    ("kerberos", "KerberosDissector"),
    ("ldap", "LdapDissector"),  # LDAP tcp/389, 3268 (binds, searches, StartTLS hands TLS on); CLDAP udp/389 DC pings
    ("smb", "SmbDissector"),  # tcp/139 NetBIOS session, tcp/445 Direct TCP: SMB1/SMB2 negotiation, NTLMSSP
    ("rdp", "RdpDissector"),  # tcp/3389 X.224 negotiation, standard security core data; hands TLS on
    ("rdpudp", "RdpUdpDissector"),  # RDP-UDP udp/3389, elsewhere by a strict SYN: handshake, flow app rdp
    ("dcerpc", "DcerpcDissector"),  # DCE/RPC v5 tcp/135, elsewhere by a strict header: interfaces bound, operations
    ("dcerpc_cl", "DcerpcClDissector"),  # connectionless DCE/RPC v4 udp/135: interfaces and operations called
    ("pnio_cm", "PnioCmDissector"),  # PROFINET IO CM udp/34964: I&M0, EPM annotation, Write/Control (otops)
    ("hl7", "Hl7Dissector"),
    ("dicom", "DicomDissector"),  # DICOM Upper Layer tcp/104, 11112; elsewhere by an A-ASSOCIATE-RQ
    ("mqtt", "MqttDissector"),
    ("modbus", "ModbusDissector"),
    ("bacnet", "BacnetDissector"),
    ("dnp3", "Dnp3Dissector"),
    ("s7comm", "S7commDissector"),  # tcp 102 (ISO-TSAP): hands MMS TSDUs to the MMS dissector
    ("mms", "MmsDissector"),  # MMS found by probe on other ports
    ("enip", "EnipDissector"),
    ("fox", "FoxDissector"),
    ("iec104", "Iec104Dissector"),  # IEC 60870-5-104 tcp/2404: APCI and ASDU headers, commands marked (otops)
    ("hartip", "HartIpDissector"),  # HART-IP tcp/udp 5094: token-passing PDUs, command 0 identity, writes
    ("c37118", "C37118Dissector"),  # IEEE C37.118 synchrophasor tcp/4712, udp/4713: PMU configuration, commands
    ("opcua", "OpcuaDissector"),  # OPC UA binary tcp/4840, elsewhere by a Hello: endpoints, services, writes (otops)
    ("ads", "AdsDissector"),  # Beckhoff ADS/AMS tcp/48898; TwinCAT discovery and add-route udp/48899 (otops)
    ("fins", "FinsDissector"),  # Omron FINS udp/9600, FINS/TCP tcp/9600: commands, controller model (otops)
    ("knxip", "KnxipDissector"),  # KNXnet/IP udp/tcp 3671: KNX IP routers, tunnelling, cEMI programming (otops)
    ("melsec", "MelsecDissector"),  # Mitsubishi SLMP/MC binary 3E/4E frames, by probe (no default port; otops)
    ("melsoft", "MelsoftDissector"),  # Mitsubishi MELSOFT udp/5560 search, tcp/5562, 5007: commands, CPU model
    ("pppp", "PpppDissector"),  # CS2/iLnkP2P udp/32100 logins, 32108 LAN search; elsewhere by whole 0xF1 messages
    ("dht", "DhtDissector"),  # BitTorrent DHT KRPC (BEP 5), any UDP port: by a whole bencoded message
)


def default_dissectors() -> list[Dissector]:
    """A fresh instance of every registered dissector, in priority order."""
    out: list[Dissector] = []
    for module_name, class_name in REGISTRY:
        module = importlib.import_module(f"iotwarden.dissect.{module_name}")
        out.append(getattr(module, class_name)())
    return out


@cache
def ot_operation_protocols() -> frozenset[str]:
    """Names of the dissectors whose requests carry model/otops.py's fields (``ot_operations = True``)."""
    out: set[str] = set()
    for module_name, class_name in REGISTRY:
        cls = getattr(importlib.import_module(f"iotwarden.dissect.{module_name}"), class_name)
        if cls.ot_operations:
            out.add(cls.name)
    return frozenset(out)


__all__ = ["Dissector", "Packet", "StreamDissector", "default_dissectors", "ot_operation_protocols"]
