"""Sample alerts for export tests (what the pipeline hands exporters)."""

from __future__ import annotations

from iotwarden.detect.pipeline import alert_uid
from iotwarden.model.alert import Alert


def sample_alerts() -> list[Alert]:
    scan = Alert(id="detect.scan.telnet_mirai", title="Mirai-style Telnet scan from 10.10.20.102", severity="high",
                 subject="mac:44:47:cc:2b:10:03", key="23/2323", src_ip="10.10.20.102", mitre=["T1046", "T1110"],
                 evidence={"hosts": 12}, first_seen=1709542864.25, last_seen=1709542890.5, count=3)
    odd = Alert(id="detect.dns.tunnel", title="odd | title = with\\specials\nand a newline", severity="medium",
                subject="ip:10.0.0.7", key="evil.example", src_ip="10.0.0.7", dst_ip="2001:db8::53",
                mitre=["T1071.004", "T1572"], first_seen=1709542900.0, last_seen=1709542900.0)
    stop = Alert(id="detect.ot.s7_cpu_stop", title="S7 PLC STOP sent to 10.10.30.20 by 10.10.30.5",
                 severity="critical", subject="mac:00:1b:1b:00:00:01", key="10.10.30.5", src_ip="10.10.30.5",
                 dst_ip="10.10.30.20", mitre=["T0881", "T0858"], first_seen=1709543000.0, last_seen=1709543000.0)
    for a in (scan, odd, stop):
        a.uid = alert_uid(a)
    return [scan, odd, stop]
