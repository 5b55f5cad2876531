"""Which observation fields identify a device, per protocol (data, not code: STYLE 8), and the plan the
inventory reads them by (each field's values: inventory/fieldvalues.py); field names are the dissectors'
vocabulary, shared with the Zeek log reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iotwarden.inventory.fieldvalues import MAX_VALUE_LEN, ORDERED_FIELDS, attribute_name, dig, field_values, first_item

# how fields are read (inventory/fieldvalues.py, split from this module) stays importable from here
__all__ = ["MAX_VALUE_LEN", "ORDERED_FIELDS", "RULES", "IdentityRule", "PlanStep", "ReportRule", "attribute_name",
           "attribute_plan", "dig", "field_values", "first_item", "named_values"]


@dataclass(frozen=True, slots=True)
class ReportRule:
    """Devices a message reports besides, or as well as, its sender (inventory/reported.py).

    ``records`` is a list field of the observation, one dict per reported device; ``facts`` are
    (record key, attribute suffix) pairs stated about that device. A record is the sender's own when
    its ``mac`` is the sender's or the message's ``own_mac`` field, or its ``identifier`` equals the
    message's ``own_identifier`` field; else it names another device, and the sender, which speaks for
    it, gets each of its facts as ``"<proto>.<relayed>"``.
    """

    records: str
    facts: tuple[tuple[str, str], ...]
    relayed: str
    mac: str = "mac"
    identifier: str = ""
    own_identifier: str = ""
    own_mac: str = ""


@dataclass(frozen=True, slots=True)
class IdentityRule:
    """What one protocol's observations say about the device they describe.

    ``attributes`` are field paths (``certs.0.subject``, ``answers.*.name``) stored as
    ``"<proto>.<last name>"``; ``hostnames`` also go to Device.hostnames. ``mac_field`` names a
    field holding the MAC the facts belong to when that is not the packet's sender (a DHCP server's
    ACK describes ``client_mac``); ``ip_fields`` hold addresses of that MAC, and ``binds`` says the
    protocol proves the address is on the local segment (ARP, DHCP). ``kinds`` limits attributes
    and hostnames to those message kinds (None: all); addresses are taken from every kind.
    ``local_speaker_kinds`` are messages a router does not forward (a DHCP server's or relay's
    reply, RFC 2131 §4.1 / RFC 1542 §4.1): their sender's MAC owns their source address.
    """

    attributes: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = ()
    mac_field: str | None = None
    ip_fields: tuple[str, ...] = ()
    binds: bool = False
    kinds: frozenset[str] | None = None
    local_speaker_kinds: frozenset[str] = frozenset()  # kinds never routed: the sender's own MAC and IP
    # (name field, value field): "<proto>.<name>" = value, for the names listed in ``pair_names``,
    # when ``pair_when`` (field, value) holds (a BACnet ReadProperty answer names what it returns)
    pairs: tuple[tuple[str, str], ...] = ()
    pair_names: frozenset[str] = frozenset()
    pair_when: tuple[str, str] | None = None
    spread: tuple[str, ...] = ()  # dict fields whose keys (among ``pair_names``) become attributes
    # (field, attribute suffix) where the knowledge base's vocabulary names a field otherwise
    renames: tuple[tuple[str, str], ...] = ()
    # (kind, field path): read only from that kind of message, about its subject (what a client asks
    # a controller to do describes the client: a UMAS PLC reservation, an S7 download job)
    by_kind: tuple[tuple[str, str], ...] = ()
    # (kind, field path): facts that message kind states about the *other* end than its subject
    # (an S7 connection request describes the PLC, but the connection type it asks for is the client's role)
    peer: tuple[tuple[str, str], ...] = ()
    reports: ReportRule | None = None  # devices the message speaks for (read from ``kinds`` only)
    # the protocol whose attribute names its facts take when it carries another's messages: QUIC's
    # ClientHello is TLS's (RFC 9001 §4), so its SNI is ``tls.sni`` as the knowledge base reads it
    vocabulary: str | None = None
    # the messages are heard from any station in radio range, not only from those on the network (802.11
    # probe requests): they make no device and no endpoint. Their attributes go to the subject's MAC only
    # when the run shows it otherwise (flows, ARP, DHCP, any other protocol), at once or when it appears
    # (inventory/reported.py PendingFacts); a MAC never shown gets nothing (hostnames are not held)
    overheard: bool = False
    # fields present only when the sender relays the message from another device (BACnet: the source specifier SNET
    # a router adds, ASHRAE 135 §6.2.2; a BBMD's Forwarded-NPDU naming the original B/IP address, Annex J.2.9): the
    # facts are that device's, never the sender's, so the message gives the sender none (its endpoint and protocol
    # still count); an original source naming the sender's own address is its own (inventory/builder.py _relayed)
    relayed: tuple[str, ...] = ()


_DHCP_CLIENT = frozenset({"discover", "request", "inform", "decline", "release"})
_DHCPV6_CLIENT = frozenset({"solicit", "request", "confirm", "renew", "rebind", "release", "decline",
                            "information_request", "information-request"})

# UPnP description fields (dissect/http.py kind upnp_description): the types of the root device and of its
# embedded devices (a router's WANDevice, a Sonos player's MediaRenderer) and every service type; the maker
# and model of the root device, the product (embedded devices name their function there: "WANDevice")
_UPNP_DESCRIPTION = ("upnp_device_type", "upnp_embedded.*.upnp_device_type", "upnp_service_types", "upnp_manufacturer",
                     "upnp_model_name", "upnp_model_number", "upnp_model_description", "upnp_friendly_name")

# DPWS metadata fields (dissect/http.py kind dpws_metadata): what a WSD device states of itself in its
# GetResponse (DPWS 1.1 §4.1 ThisModel, ThisDevice; hosted service types; Windows' pub:Computer)
_DPWS_METADATA = ("dpws_manufacturer", "dpws_model_name", "dpws_model_number", "dpws_friendly_name",
                  "dpws_firmware_version", "dpws_serial_number", "dpws_types", "dpws_computer")

# IPP printer attributes (dissect/http.py kind ipp_response): what a printer answers Get-Printer-Attributes with
# (RFC 8011 §5.4 make and model, IEEE 1284 device id; PWG 5100.13 firmware and features), never its location
_IPP_PRINTER = ("ipp_make_and_model", "ipp_device_mfg", "ipp_device_mdl", "ipp_device_cmd", "ipp_firmware_name",
                "ipp_firmware_string_version", "ipp_document_formats", "ipp_features")

RULES: dict[str, IdentityRule] = {
    # ARP sender hardware/protocol address (RFC 826): proves the IP is on this segment
    "arp": IdentityRule(mac_field="sender_mac", ip_fields=("sender_ip",), binds=True),
    # DHCP (RFC 2131 §2, RFC 2132): client facts from client messages; yiaddr from the server's ACK
    "dhcp": IdentityRule(
        attributes=("hostname", "vendor_class", "param_req_list", "client_id", "fqdn", "mud_url", "options",
                    "user_class", "max_msg_size"),
        hostnames=("hostname", "fqdn"), mac_field="client_mac", ip_fields=("yiaddr", "ciaddr", "requested_ip"),
        binds=True, kinds=_DHCP_CLIENT, local_speaker_kinds=frozenset({"offer", "ack", "nak"}),
    ),
    "dhcpv6": IdentityRule(  # RFC 8415 §21: DUID, vendor class (16), ORO (6), FQDN (RFC 4704), MUD (RFC 8520)
        attributes=("client_duid", "vendor_class", "user_class", "oro", "mud_url", "hostname"),
        hostnames=("hostname",), mac_field="duid_mac", kinds=_DHCPV6_CLIENT,
    ),
    "mdns": IdentityRule(  # RFC 6762/6763: announced names, service types, instances, TXT
        attributes=("services", "instances", "instance_names", "txt", "hostnames"),
        hostnames=("hostnames",), kinds=frozenset({"response"}),
    ),
    # DNS (RFC 1035 §4.1.2): the names a host asks for; the device clouds it talks to
    "dns": IdentityRule(attributes=("qname",), kinds=frozenset({"query"})),
    "llmnr": IdentityRule(hostnames=("answers.*.name",), kinds=frozenset({"response"})),  # RFC 4795 §2
    "netbios": IdentityRule(  # RFC 1002 §4.2: a registration or answer names the sender itself
        attributes=("name",), hostnames=("name",), kinds=frozenset({"registration", "response"}),
    ),
    "dhip": IdentityRule(  # Dahua discovery: a device's own description of itself (model, class, firmware)
        attributes=("device_type", "device_class", "version", "serial_no"), kinds=frozenset({"device_info"}),
    ),
    "sadp": IdentityRule(  # Hikvision SADP (udp/37020): what a device answers a search with (ProbeMatch: model,
        # serial, firmware); an inquiry is a client's search and a command's content is never kept (dissect/sadp.py)
        attributes=("device_description", "device_type", "device_sn", "sn_model", "software_version", "dsp_version",
                    "oem_info"),
        kinds=frozenset({"probe_match"}),
    ),
    "kasa": IdentityRule(  # TP-Link Kasa sysinfo (udp/tcp 9999) or TDP discovery result (udp/20002): a device's
        # own model, type, firmware, ids; a query describes the app's host and gives nothing (python-kasa)
        attributes=("model", "dev_name", "type", "hw_ver", "sw_ver", "device_id", "hw_id", "oem_id"),
        kinds=frozenset({"sysinfo", "discovery"}),
    ),
    "tuya": IdentityRule(  # Tuya discovery announcement: device id, product key, local protocol version (tinytuya)
        attributes=("gw_id", "product_key", "version"), kinds=frozenset({"announce"}),
    ),
    "pppp": IdentityRule(  # CS2/iLnkP2P: a device's own login to its P2P server (pppp.fdesc MSG_DEV_LGN*);
        # an app's or a server's messages, and UIDs in messages about a device (P2P_REQ, PUNCH_PKT), give nothing
        attributes=("role", "did", "did_prefix", "api_version"), kinds=frozenset({"device_message"}),
    ),
    "ssdp": IdentityRule(  # UPnP DA 1.1 §1: a device's own SERVER, USN, LOCATION; a searcher's USER-AGENT
        attributes=("server", "usn", "location", "user_agent"),
        # the type a device advertises (NOTIFY NT, §1.2.2) or answers a search as (response ST, §1.3.3);
        # an M-SEARCH ST is what the searcher looks for, not what it is
        by_kind=(("notify", "nt"), ("response", "st")),
    ),
    "wsd": IdentityRule(  # WS-Discovery 1.1 §4-§6: what a device announces (Hello, Bye) or answers (matches)
        # as; a Probe's Types and Scopes are what the searcher looks for, a Resolve's endpoint another device's
        attributes=("endpoints", "types", "scopes", "xaddrs", "onvif_types", "onvif_names", "onvif_hardware",
                    "onvif_locations", "onvif_profiles"),
        kinds=frozenset({"hello", "bye", "probe_matches", "resolve_matches"}),
    ),
    "lldp": IdentityRule(  # IEEE 802.1AB §8.5: chassis id, system name/description, capabilities
        attributes=("system_name", "system_description", "chassis_id", "capabilities", "enabled_capabilities",
                    "mud_url"),
        hostnames=("system_name",),
    ),
    "cdp": IdentityRule(
        attributes=("device_id", "platform", "software_version", "capabilities"),
        hostnames=("device_id",), ip_fields=("addresses",),
    ),
    "wps": IdentityRule(  # WSC device information a station states in its 802.11 probe or association
        # requests (Wi-Fi Simple Configuration v2.0.x §12; dissect/wps.py). Every request frame is overheard:
        # a passer-by probes; an association request precedes the RSNA 4-way handshake (802.11-2020 §12.7.6)
        # and may be refused or made to a neighbour's BSS on the channel, so it proves no membership either
        attributes=("manufacturer", "model_name", "model_number", "device_name", "primary_device_type"),
        overheard=True,
    ),
    "http": IdentityRule(  # RFC 9110 §10.1.5 / §10.2.4; a UPnP description a server serves (UDA 2.0 §2.3)
        attributes=("user_agent", "server"), by_kind=(*(("upnp_description", f) for f in _UPNP_DESCRIPTION),
                                                      *(("dpws_metadata", f) for f in _DPWS_METADATA),
                                                      *(("ipp_response", f) for f in _IPP_PRINTER)),
    ),
    "rtsp": IdentityRule(  # RFC 2326 §12.41 User-Agent (client), §12.36 Server, §12.44 WWW-Authenticate (server)
        attributes=("user_agent", "server", "www_authenticate"),
        # the SDP of a DESCRIBE answer (§10.2) says what the server streams; an ANNOUNCE's SDP is the client's
        by_kind=tuple(("response", f) for f in ("session_name", "session_info", "tool", "media", "codecs")),
        peer=(("request", "path"),),  # the stream path a client asks for names the server's resource
    ),
    "sip": IdentityRule(  # RFC 3261 §20.41 User-Agent, §20.35 Server of the sender's own messages (dissect/sip.py
        # ``sender``: not a request a proxy forwarded); the realm a registrar challenges with (§20.44, §22.1)
        attributes=("sender.user_agent", "sender.server"), by_kind=(("response", "auth_realm"),),
    ),
    "smb": IdentityRule(  # what each end of an SMB session says of itself (dissect/smb.py): SMB1 NativeOS/LanMan
        # ([MS-CIFS] §2.2.4.53), NTLMSSP VERSION and a server's TargetInfo names ([MS-NLMP] §2.2.2.10, §2.2.2.1),
        # the client's workstation name (never its user's), the GUIDs of NEGOTIATE ([MS-SMB2] §2.2.3, §2.2.4);
        # server_*: what a host states answering as an SMB server (the knowledge base types servers by it)
        attributes=("native_os", "native_lanman", "ntlm_version", "server_native_os", "server_ntlm_version",
                    "nb_computer", "nb_domain", "dns_computer", "dns_domain", "dns_tree", "workstation", "server_guid",
                    "client_guid", "dialect", "calling_name"),
        hostnames=("nb_computer", "workstation"),
        kinds=frozenset({"session_request", "negotiate_request", "negotiate_response", "session_setup_request",
                         "session_setup_response"}),
    ),
    "rdp": IdentityRule(  # [MS-RDPBCGR] §2.2.1.3.2 Client Core Data (standard security); the CN of the certificate
        # a server presents after the X.224 confirm (§5.4.5.1: Windows' self-signed one names the computer)
        attributes=("client_name", "client_build", "computer_name"), hostnames=("client_name", "computer_name"),
        kinds=frozenset({"client_core", "server_certificate"}),
    ),
    "tls": IdentityRule(  # RFC 8446 §4.1.2 (SNI: RFC 6066 §3); certificate subject (RFC 5280 §4.1.2.6)
        attributes=("sni", "ja3", "ja4", "certs.0.subject", "subject"),
        kinds=frozenset({"client_hello", "certificate"}),
    ),
    "quic": IdentityRule(  # the TLS ClientHello of a QUIC Initial (RFC 9001 §4): TLS's facts, TLS's names
        attributes=("sni", "ja3", "ja4"), kinds=frozenset({"client_hello"}), vocabulary="tls",
    ),
    "ssh": IdentityRule(attributes=("banner", "hassh", "hassh_server")),  # RFC 4253 §4.2 / §7.1
    "ftp": IdentityRule(attributes=("banner",), kinds=frozenset({"banner"})),  # RFC 959 §4.2 (220 reply)
    # HP PJL Tech Ref status readback: the model a printer answers INFO ID with, the PDLs INFO CONFIG lists
    "pjl": IdentityRule(attributes=("model", "languages"), kinds=frozenset({"reply"})),
    # PJLink §4 (Class 1) / §5 (Class 2): what a projector or display answers the identity queries with; the MAC
    # address a Class 2 device answers a search with or notifies its link-up with (udp/4352); a search says nothing
    "pjlink": IdentityRule(attributes=("manufacturer", "product", "device_class", "other_info", "serial_number",
                                       "software_version", "mac"),
                           kinds=frozenset({"reply", "search_ack", "notification"})),
    "telnet": IdentityRule(attributes=("banner",), kinds=frozenset({"banner"})),
    "snmp": IdentityRule(  # RFC 3418 system group: sysDescr, sysObjectID, sysName; RFC 1628 upsIdent maker, model
        attributes=("sys_descr", "sys_object_id", "sys_name", "ups_ident_manufacturer", "ups_ident_model"),
        hostnames=("sys_name",),
        kinds=frozenset({"response"}),
    ),
    "mqtt": IdentityRule(attributes=("client_id",), kinds=frozenset({"connect"})),  # MQTT 3.1.1 §3.1.3.1
    "kerberos": IdentityRule(  # RFC 4120 §5.4.1: a computer account's own AS request ("WS01$") names the computer
        attributes=("computer",), hostnames=("computer",), kinds=frozenset({"as_req"}),  # dissect/kerberos.py
    ),
    "hl7": IdentityRule(  # HL7 v2 MSH (§2.14.9) of the messages a system sends; never patient segments
        attributes=("sending_application", "message_type", "message_profile"), kinds=frozenset({"message"}),
        # IHE PCD-01 device rows: the IEEE 11073 term of each device by its OBX-18 equipment identifier
        # (an EUI-64 holds its MAC); MSH-3's universal ID names the reporter itself (IHE PCD TF-2 §B.1)
        reports=ReportRule(records="devices", facts=(("term", "device_term"),), relayed="reported_device",
                           identifier="equipment_id", own_identifier="sending_application_uid",
                           own_mac="sender_mac"),
    ),
    "ldap": IdentityRule(  # [MS-ADTS] §6.3.1.9: a DC's CLDAP ping answer names it, its domain and site, and says
        # what it serves (DS_FLAG, §6.3.1.2); RFC 4511 §4.2/§4.12: how a client binds, what extended operation it asks
        attributes=("flags", "dns_domain_name", "dns_forest_name", "dns_host_name", "netbios_domain_name",
                    "netbios_computer_name", "dc_site_name"),
        hostnames=("dns_host_name", "netbios_computer_name"),  # fields of netlogon_response alone (dissect/ldap.py)
        by_kind=(("bind_request", "bind_kind"), ("bind_request", "mechanism"), ("extended_request", "operation")),
    ),
    "dcerpc": IdentityRule(  # C706 §12.6.4: the interfaces a client proposes in bind/alter_context and those a
        # server accepts in bind_ack/alter_context_resp (dissect/dcerpc.py): a host answering DRSUAPI is a DC
        by_kind=(("bind", "requested_interfaces"), ("alter_context", "requested_interfaces"),
                 ("bind_ack", "accepted_interfaces"), ("alter_context_resp", "accepted_interfaces")),
    ),
    "dicom": IdentityRule(  # DICOM PS3.8 §9.3.2-3 association items, PS3.7 §E.1 command names; never data sets
        attributes=("implementation_class_uid", "implementation_version", "ae_title"),
        # the SOP classes a requestor (SCU) proposes and an acceptor (SCP) accepts give its role; commands too
        by_kind=(("associate_rq", "requested_sop_classes"), ("associate_ac", "accepted_sop_classes"),
                 ("command", "command")),
    ),
    "modbus": IdentityRule(  # Modbus AP v1.1b3 §6.21 Read Device Identification objects 0..6
        attributes=("vendor_name", "product_code", "revision", "product_name", "model_name"),
        by_kind=(("request", "umas_function"),),  # the UMAS service a master asks for (function 90)
    ),
    "bacnet": IdentityRule(  # ASHRAE 135 §16.10 I-Am; §12.11 Device object properties (§15.5, §15.7 ACKs)
        # vendor_name: ICSNPP's registry name of an I-Am's vendor identifier (sources/zeek_icsnpp.py)
        # a message a router relays from another network (SNET, §6.2.2: an MS/TP controller's I-Am) or a BBMD from
        # another subnet (Annex J.2.9 Forwarded-NPDU, dissect/bacnet.py forwarded_from) is not the sender's own
        attributes=("vendor_id", "device_instance", "object_name", "vendor_name"), relayed=("snet", "forwarded_from"),
        pairs=(("property", "value"),), pair_when=("apdu_type", "complex_ack"), spread=("properties",),
        pair_names=frozenset({"object-name", "vendor-name", "model-name", "firmware-revision",
                              "application-software-version", "description", "location"}),
    ),
    "enip": IdentityRule(  # CIP Vol 2 §2-4.2.1.3 ListIdentity item
        attributes=("vendor_id", "product_code", "device_type", "revision", "serial", "product_name"),
        kinds=frozenset({"identity"}),
    ),
    "s7comm": IdentityRule(  # SZL 0x0011 / 0x001C module and component identification (userdata)
        attributes=("order_number", "hardware_order_number", "firmware_version", "plc_name", "module_name",
                    "module_type_name", "serial_number"),
        hostnames=("plc_name",), renames=(("order_number", "module_order_number"),),
        by_kind=(("job", "function"),),  # a job is the client's request (download, upload, stop)
        peer=(("cotp_connect", "connection_type"), ("cotp_connect", "dst_tsap_text")),  # the client's role
    ),
    "mms": IdentityRule(  # ISO 9506-2 Identify-Response vendorName [0], modelName [1], revision [2]
        attributes=("vendor_name", "model_name", "revision"), kinds=frozenset({"response"}),
    ),
    "fox": IdentityRule(  # Niagara Fox hello: the software each end runs (fox-info's fields)
        attributes=("app_name", "app_version", "os_name", "host_id", "brand_id", "station_name"),
        kinds=frozenset({"hello"}),
    ),
    # IEC 60870-5-101 §7.2.4: the common address a controlled station sends its monitor-direction ASDUs with
    "iec104": IdentityRule(attributes=("station_address",), kinds=frozenset({"asdu"})),
    "hartip": IdentityRule(  # HART command 0/11/21 Read Unique Identifier, 13 tag, 20 long tag of the device itself
        attributes=("manufacturer_id", "device_type", "device_id", "universal_revision", "device_revision",
                    "software_revision", "hardware_revision", "tag", "long_tag"),
        kinds=frozenset({"identity"}),
    ),
    "pn_dcp": IdentityRule(  # PROFINET DCP (IEC 61158-6-10 §4.3): what a station answers an Identify or Get
        # with, or announces in Hello (dissect/pn_dcp.py); requests' values are prefixed filter_/set_ and never
        # describe the requester, only the filter kinds it searches by do
        attributes=("name_of_station", "type_of_station", "vendor_id", "device_id", "device_role", "alias_name",
                    "oem_vendor_id", "oem_device_id"),
        hostnames=("name_of_station",), ip_fields=("ip",), by_kind=(("identify_request", "filter"),),
    ),
    "pnio_cm": IdentityRule(  # PROFINET IO CM (IEC 61158-6-10 §5.1, dissect/pnio_cm.py): what a device answers with,
        # its object UUID's ids, its own I&M0 record, its EPM annotation (requests carry none of these: a request's
        # object UUID is its target's, target_*); a Connect names the connecting controller
        attributes=("vendor_id", "device_id", "order_id", "serial_number", "hardware_revision", "software_revision",
                    "device_type", "profile_id"),
        by_kind=(("request", "initiator_station_name"), ("request", "ar_type")),
    ),
    "goose": IdentityRule(  # IEC 61850-8-1 GOOSE / 9-2 SV publisher: its control block and LD, its SV stream id
        attributes=("gocb_ref", "ld_name", "go_id", "sv_id"), kinds=frozenset({"goose", "sampled_values"}),
    ),
    "c37118": IdentityRule(  # IEEE C37.118.2-2011 §6.4: the stations and IDCODEs a PMU/PDC configures its stream
        # with (dissect/c37118.py); the frame types each end sends: a stream's source sends data and configuration,
        # its client (PDC, historian) commands; a command's IDCODE names the stream asked for, not its sender
        by_kind=(("config", "idcode"), ("config", "pmus.*.idcode"), ("config", "pmus.*.station_name"),
                 ("config", "num_pmu"), ("data", "idcode"),
                 *((kind, "frame_type") for kind in ("config", "data", "header", "command"))),
    ),
    "opcua": IdentityRule(  # OPC 10000-4 §7.2 ApplicationDescription: a server's own in its GetEndpoints and
        # CreateSession answers, a client's own (client_*) in its CreateSession request (dissect/opcua.py)
        attributes=("application_uri", "product_uri", "application_name", "application_type", "client_application_uri",
                    "client_product_uri", "client_application_name", "security_policies"),
        by_kind=(("open_secure_channel", "security_policy"),), kinds=frozenset({"message", "open_secure_channel"}),
    ),
    "ads": IdentityRule(  # Beckhoff ADS ReadDeviceInfo answer; TwinCAT udp/48899 discovery answer (dissect/ads.py)
        attributes=("device_name", "version", "hostname", "twincat_version", "os_version", "os_platform"),
        hostnames=("hostname",), kinds=frozenset({"device_info", "discovery_answer"}),
    ),
    "fins": IdentityRule(  # Omron FINS 0501 CONTROLLER DATA READ answer (W342): model and version
        attributes=("controller_model", "controller_version"), kinds=frozenset({"controller_data"}),
    ),
    "knxip": IdentityRule(  # KNXnet/IP SEARCH/DESCRIPTION responses: DEVICE_INFO, SUPP_SVC_FAMILIES DIBs (03.08.02)
        attributes=("friendly_name", "mac_address", "serial_number", "manufacturer_id", "mfr_manufacturer_id",
                    "individual_address", "service_families", "secure", "medium"),
        hostnames=("friendly_name",),
        # the connection a client asks an interface for (CONNECT_REQUEST's CRI, 03.08.02 §7.8.1): its role
        by_kind=(("connect_request", "connection_type"),),
        kinds=frozenset({"search_response", "search_response_ext", "description_response", "connect_request"}),
    ),
    "melsec": IdentityRule(attributes=("cpu_model", "model_code"), kinds=frozenset({"cpu_model"})),  # SLMP 0101
    "melsoft": IdentityRule(attributes=("model", "model_code"), kinds=frozenset({"cpu_model"})),  # dissect/melsoft.py
    "software": IdentityRule(attributes=("name", "version")),  # Zeek software.log
}

PlanStep = tuple[str, str, bool]  # (attribute name, field path, path names a top-level field)


@lru_cache(maxsize=4096)  # per (protocol, message kind): a few dozen in a run, asked for each observation
def attribute_plan(proto: str, kind: str) -> tuple[tuple[PlanStep, ...], tuple[PlanStep, ...]]:
    """The fields ``RULES[proto]`` reads from an observation of ``kind``, in the order the inventory
    reads them: its ``attributes``, then (after its name/value pairs) its ``by_kind`` paths for ``kind``."""
    rule = RULES[proto]
    vocabulary = rule.vocabulary or proto

    def step(path: str, renames: tuple[tuple[str, str], ...] = ()) -> PlanStep:
        top = "." not in path and path != "*" and not path.isdigit()  # dig's own shortcut
        return attribute_name(vocabulary, path, renames), path, top

    leading = tuple(step(path, rule.renames) for path in rule.attributes)
    trailing = tuple(step(path) for by_kind, path in rule.by_kind if by_kind == kind)
    return leading, trailing


def named_values(rule: IdentityRule, fields: dict[str, Any]) -> list[tuple[str, Any]]:
    """(attribute suffix, value) pairs a rule reads from name/value fields and spread dicts.

    Property names are written the way the protocol spells them ("model-name", ASHRAE 135 §21); the
    attribute vocabulary (kb/data/attributes.yaml) uses identifiers, so hyphens become underscores.
    """
    if rule.pair_when is not None and fields.get(rule.pair_when[0]) != rule.pair_when[1]:
        return []
    out: list[tuple[str, Any]] = []
    for name_field, value_field in rule.pairs:
        name = fields.get(name_field)
        if isinstance(name, str) and name in rule.pair_names and value_field in fields:
            out.append((name.replace("-", "_"), fields[value_field]))
    for spread in rule.spread:
        values = fields.get(spread)
        if isinstance(values, dict):
            out.extend((k.replace("-", "_"), v) for k, v in values.items()
                       if isinstance(k, str) and k in rule.pair_names)
    return out

