"""Ports that name a service: where a flow joined mid-stream most likely has its server (engine/orient.py).

Each entry is the port's service name in the IANA Service Name and Transport Protocol Port Number Registry
(RFC 6335; https://www.iana.org/assignments/service-names-port-numbers), for that transport. Zeek keeps the
same kind of set, ``likely_server_ports`` (``scripts/base/init-bare.zeek``), to which its protocol scripts add
the ports they analyse (``redef likely_server_ports += { ports }``, e.g. ``base/protocols/ssh``, ``dns``,
``smb``). The list holds the services a site's clients commonly reach, IoT and OT ones included; the engine's
dissectors add the ports they declare (``ServerPorts.of``). No port of the dynamic range (49152-65535, RFC
6335 §6) is here: clients take those. Ports commonly used as a client's source port are left out on purpose:
ftp-data (20, the server's side of an active FTP data connection, which the server opens) and bootpc (68).
Among System Ports (< 1024) only services are named, so that a client's reserved source port (rlogin, rsh,
NFS and ssh clients bind 512-1023) faces a named server port as an unnamed one.
"""

from __future__ import annotations

TCP: dict[int, str] = {
    21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 79: "finger", 80: "http", 88: "kerberos",
    102: "iso-tsap", 110: "pop3", 111: "sunrpc", 119: "nntp", 135: "epmap", 139: "netbios-ssn", 143: "imap",
    179: "bgp", 389: "ldap", 443: "https", 445: "microsoft-ds", 464: "kpasswd", 465: "submissions", 502: "mbap",
    513: "login", 514: "shell", 515: "printer", 548: "afpovertcp", 554: "rtsp", 587: "submission", 631: "ipp",
    636: "ldaps", 853: "domain-s", 873: "rsync", 990: "ftps", 993: "imaps", 995: "pop3s",
    1080: "socks", 1194: "openvpn", 1433: "ms-sql-s", 1723: "pptp", 1883: "mqtt", 2049: "nfs", 2375: "docker",
    2376: "docker-s", 2404: "iec-104", 3260: "iscsi-target", 3268: "msft-gc", 3306: "mysql",
    3389: "ms-wbt-server", 3478: "stun", 4840: "opcua-tcp", 5060: "sip", 5061: "sips", 5222: "xmpp-client",
    5269: "xmpp-server", 5432: "postgresql", 5671: "amqps", 5672: "amqp", 5900: "rfb", 5985: "wsman",
    5986: "wsmans", 6379: "redis", 6514: "syslog-tls", 8080: "http-alt", 8443: "pcsync-https",
    8883: "secure-mqtt", 9100: "pdl-datastream", 11211: "memcache", 20000: "dnp", 27017: "mongodb",
    44818: "EtherNet-IP-2",
}
UDP: dict[int, str] = {
    53: "domain", 67: "bootps", 69: "tftp", 88: "kerberos", 123: "ntp", 137: "netbios-ns", 138: "netbios-dgm",
    161: "snmp", 162: "snmptrap", 389: "ldap", 443: "https", 500: "isakmp", 514: "syslog", 520: "router",
    623: "asf-rmcp", 853: "domain-s",
    1194: "openvpn", 1812: "radius", 1813: "radius-acct", 1900: "ssdp", 2049: "nfs", 2222: "EtherNet-IP-1",
    3478: "stun", 3702: "ws-discovery", 4500: "ipsec-nat-t", 5060: "sip", 5353: "mdns", 5355: "llmnr",
    5683: "coap", 5684: "coaps", 20000: "dnp", 47808: "bacnet",
}
