"""Traffic volume: a device suddenly sending far more than its own history, and large uploads out.

Ids: ``detect.volume.spike`` (bytes a device sends per ``bucket_s`` against an EWMA baseline of its
earlier buckets: a z-score above ``z_threshold`` and ``factor`` times the mean, and at least
``min_bytes``; ATT&CK T1498 Network Denial of Service, T1030) and ``detect.exfil.upload`` (one
internal device sends ``min_upload`` bytes or more to one external address within a bucket, with
``upload_ratio`` of the exchange outbound, to an address it never sent to while learning; T1041
Exfiltration Over C2 Channel, T1048 Exfiltration Over Alternative Protocol), and
``detect.volume.off_hours`` (a device sends ``min_hour_bytes`` in an hour of the day (UTC) in which it
never sent that much during its ``hours_learn_s`` learning, two days by default: the time-of-day
baseline; T1029 Scheduled Transfer). Each new busy hour is reported once, then learned. A device is an internal
address within its broadcast domain (detect/base.site_host): two VLANs' 10.0.0.5 have a history each.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    BYTES,
    COUNT,
    DURATION,
    ENTRIES,
    SECONDS,
    SHARE,
    Detector,
    Options,
    Range,
    flow_domain,
    initiator,
    is_internal,
    site_host,
)
from iotwarden.detect.baseline import LEARN_S, Novelty, Rate
from iotwarden.hooks import Context
from iotwarden.model import Flow

SPIKE, EXFIL, OFF_HOURS = "detect.volume.spike", "detect.exfil.upload", "detect.volume.off_hours"
HOUR_S = 3600.0


@dataclass(frozen=True)
class VolumeOptions(Options):
    bucket_s: float = 300.0  # volume is summed per device over buckets this long
    warmup: int = 12  # buckets of history before spikes are judged (one hour by default)
    z_threshold: float = 6.0
    factor: float = 10.0
    min_bytes: int = 20_000_000  # a spike sends at least this many bytes in a bucket
    min_upload: int = 50_000_000  # an exfiltration sends at least this many bytes to one address
    upload_ratio: float = 0.9  # share of the exchange's bytes that went out
    learn_s: float = LEARN_S
    hours_learn_s: float = 2 * 86400.0  # learning of the hours of the day a device is busy
    min_hour_bytes: int = 50_000_000  # bytes sent within one bucket that make its hour "busy"
    max_devices: int = 100_000  # devices with an open bucket (LRU)
    bounds: ClassVar[dict[str, Range]] = {"bucket_s": SECONDS, "warmup": COUNT, "z_threshold": (0.0, 1e6),
                                          "factor": (0.0, 1e12), "min_bytes": BYTES, "min_upload": BYTES,
                                          "upload_ratio": SHARE, "learn_s": DURATION, "hours_learn_s": DURATION,
                                          "min_hour_bytes": BYTES, "max_devices": ENTRIES}


@dataclass(slots=True)
class _Bucket:
    """A device's open bucket: what it sent in it, to which outside addresses, and its largest flow."""

    index: int  # last_seen // bucket_s
    sent: int  # bytes sent
    external: dict[str, list[int]]  # outside address -> [bytes out, bytes in]
    subject: str  # the device's key when the bucket opened
    flow: Flow  # the flow that sent the most


class VolumeDetector(Detector):
    name: ClassVar[str] = "detect.volume"
    ids: ClassVar[tuple[str, ...]] = (SPIKE, EXFIL, OFF_HOURS)
    defaults: ClassVar[Options] = VolumeOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        o: VolumeOptions = self.options
        self.rate = Rate(warmup=o.warmup, max_devices=o.max_devices)
        self.destinations = Novelty(learn_s=o.learn_s, max_devices=o.max_devices)
        self.hours = Novelty(learn_s=o.hours_learn_s, max_devices=o.max_devices, max_items=24)
        self._open: OrderedDict[str, _Bucket] = OrderedDict()  # device -> its open bucket

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # per batch, with the options and tables in locals: every flow of a device comes here
        o: VolumeOptions = self.options
        bucket_s, max_devices, touch, table = o.bucket_s, o.max_devices, self.hours.touch, self._open
        for flow in flows:
            if not is_internal(flow.a_ip):
                continue
            dev = site_host(flow.a_ip, domain) if (domain := flow_domain(flow)) else flow.a_ip  # per broadcast domain
            touch(dev, flow.first_seen)
            bucket = int(flow.last_seen // bucket_s)
            cur = table.get(dev)
            if cur is not None and bucket > cur.index:
                self._close(ctx, dev, cur)
                for _ in range(min(bucket - cur.index - 1, o.warmup)):  # quiet buckets count as zero
                    self.rate.score(dev, 0.0)
                cur = None
            if cur is None:
                cur = _Bucket(bucket, 0, {}, initiator(ctx, flow), flow)
                if len(table) >= max_devices:
                    old_dev, old = table.popitem(last=False)
                    self._close(ctx, old_dev, old)
                table.pop(dev, None)  # a bucket closed above
                table[dev] = cur
            else:
                table.move_to_end(dev)
            external = cur.external
            # the table test before the address test: past 256 destinations a scan's new targets stop there
            if (flow.b_ip in external or len(external) < 256) and not is_internal(flow.b_ip):
                pair = external.setdefault(flow.b_ip, [0, 0])
                pair[0] += flow.bytes_ab
                pair[1] += flow.bytes_ba
            cur.sent += flow.bytes_ab
            if flow.bytes_ab > cur.flow.bytes_ab:
                cur.flow = flow

    def flow(self, ctx: Context, flow: Flow) -> None:
        self.flows(ctx, [flow])

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        for dev, cur in list(self._open.items()):
            self._close(ctx, dev, cur)
        self._open.clear()

    def _close(self, ctx: Context, dev: str, cur: _Bucket) -> None:
        o: VolumeOptions = self.options
        bucket, sent, external, subject, flow = cur.index, cur.sent, cur.external, cur.subject, cur.flow
        ip = dev.partition("%")[0]  # a device of a VLAN or VPC is keyed 10.0.0.5%vlan10 (site_host)
        ts = (bucket + 1) * o.bucket_s
        mean = self.rate.mean(dev)
        z = self.rate.score(dev, float(sent))
        if z is not None and z > o.z_threshold and sent >= o.min_bytes and sent > o.factor * max(mean, 1.0):
            self.raise_alert(ctx, SPIKE, title=f"{ip} sent {sent / 1e6:.1f} MB in {o.bucket_s:.0f}s, "
                             f"{sent / max(mean, 1.0):.0f}x its usual", severity="medium", subject=subject, ts=ts,
                             mitre=("T1498", "T1030"), src_ip=ip,
                             evidence={"bytes": sent, "baseline_mean": round(mean), "z": round(z, 2)}, flows=[flow])
        hour = int(ts // HOUR_S) % 24
        if sent >= o.min_hour_bytes and self.hours.check(dev, hour, ts):
            self.raise_alert(ctx, OFF_HOURS, title=f"{ip} sent {sent / 1e6:.1f} MB at {hour:02d}h UTC, an hour it is "
                             "never busy", severity="low", subject=subject, ts=ts, key=f"{hour:02d}h",
                             mitre=("T1029",), src_ip=ip, evidence={"bytes": sent, "hour_utc": hour}, flows=[flow])
        for dst, (out, back) in external.items():
            new = self.destinations.check(dev, dst, ts)
            if out >= o.min_upload and out >= o.upload_ratio * (out + back) and new:
                self.raise_alert(ctx, EXFIL, title=f"{ip} uploaded {out / 1e6:.1f} MB to {dst}", severity="high",
                                 subject=subject, ts=ts, key=dst, mitre=("T1041", "T1048"), src_ip=ip, dst_ip=dst,
                                 evidence={"bytes_out": out, "bytes_in": back}, flows=[flow])
