"""The benchmark capture: the enterprise lab scenario scaled to many sites, then repeated in time.

Sites are copies of every enterprise device with their own subnets (10.<10+site>.x.0/24) and MACs
that keep each vendor's OUI; cameras stream continuously for the bytes. The lab generator writes
one stretch of traffic; :func:`repeat_in_time` appends copies shifted by the stretch's length
(record headers only: the fast path for millions of packets).
"""

from __future__ import annotations

import copy
import struct
from pathlib import Path
from typing import Any

from iotwarden.lab.generator import attack_params, behaviour_params, generate
from iotwarden.lab.make_demo import LAB_DIR
from iotwarden.lab.scenario import Scenario, parse_scenario, read_scenario_file

BASE_SCENARIO = LAB_DIR / "scenarios" / "enterprise.yaml"
MAX_SITES = 200  # second octet 10..209 stays a valid private 10/8 address
CAMERA = {"fps": 8, "frame_bytes": 2000, "length": 0.0, "at": 3.0}  # 8 fps H.264 sub-stream, ~130 kbit/s
BUSIER = 15.0  # periodic behaviours run this many times more often than in the scenario (a busy site)
PERIOD_KEYS = ("every", "publish_every", "write_every")


def scaled_scenario(sites: int, duration: float) -> Scenario:
    """``sites`` copies of the enterprise scenario, ``duration`` seconds, cameras streaming throughout."""
    if not 1 <= sites <= MAX_SITES:
        raise ValueError(f"sites must be in 1..{MAX_SITES}")
    base = read_scenario_file(BASE_SCENARIO)
    device_params = {kind: {k for k, p in spec.items() if p.kind == "device"}
                     for kind, spec in behaviour_params().items()}
    subnets: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    for site in range(sites):
        prefix = f"10.{10 + site}."

        def move(ip: str, prefix: str = prefix) -> str:
            return prefix + ip.split(".", 2)[2]

        for sub in base["network"]["subnets"]:
            subnets.append({"name": f"{sub['name']}-{site}", "cidr": move(sub["cidr"]),
                            "gateway": move(sub["gateway"])})
        for index, dev in enumerate(base["devices"]):
            if dev["id"] == "core-rtr" and site:
                continue
            new = copy.deepcopy(dev)
            suffix = f"-s{site}" if site else ""
            new["id"] = dev["id"] + suffix
            new["hostname"] = dev.get("hostname", dev["id"]) + suffix
            new["subnet"] = f"{dev['subnet']}-{site}"
            if "ip" in dev and dev["ip"] != "dhcp":
                new["ip"] = move(dev["ip"])
            if dev["id"] != "core-rtr":  # keep the OUI, number the rest by site and device
                new["mac"] = dev["mac"][:9] + f"{site:02x}:{index >> 8:02x}:{index & 0xFF:02x}"
            for beh in new.get("behaviours", []):
                for key in device_params.get(beh["kind"], ()):
                    if beh.get(key):
                        beh[key] += suffix
                if beh["kind"] == "rtsp":
                    beh.update(CAMERA)
                for key in PERIOD_KEYS:
                    if beh.get(key):
                        beh[key] = max(1.0, beh[key] / BUSIER)
            devices.append(new)
    raw = {**base, "name": f"bench-{sites}-sites", "duration": duration, "attacks": [],
           "network": {**base["network"], "subnets": subnets}, "devices": devices}
    return parse_scenario(raw, behaviour_params(), attack_params(), source="bench")


def repeat_in_time(src: Path, dst: Path, *, copies: int, max_packets: int | None = None) -> tuple[int, int]:
    """Write ``src`` ``copies`` times one after the other (timestamps shifted); (packets, bytes)."""
    data = src.read_bytes()
    header, body = data[:24], memoryview(data)[24:]
    if struct.unpack("<I", header[:4])[0] != 0xA1B2C3D4:
        raise ValueError(f"{src}: not a little-endian microsecond pcap")
    records: list[tuple[int, int, int]] = []  # (offset, ts_sec, ts_usec)
    off = 0
    while off < len(body):
        sec, usec, incl, _ = struct.unpack_from("<IIII", body, off)
        records.append((off, sec, usec))
        off += 16 + incl
    span = records[-1][1] - records[0][1] + 1 if records else 0
    packets = total = 0
    with dst.open("wb") as out:
        out.write(header)
        for copy_no in range(copies):
            chunk = bytearray(body)
            for rec_off, sec, _ in records:
                struct.pack_into("<I", chunk, rec_off, sec + copy_no * span)
            if max_packets is not None and packets + len(records) > max_packets:
                keep = max_packets - packets
                if keep <= 0:
                    break
                end = records[keep][0] if keep < len(records) else len(chunk)
                chunk = chunk[:end]
                out.write(chunk)
                packets += keep
                total += len(chunk) - 16 * keep
                break
            out.write(chunk)
            packets += len(records)
            total += len(chunk) - 16 * len(records)
    return packets, total


def build(path: Path, packets: int, *, sites: int = 8, stretch: float = 300.0) -> tuple[int, int]:
    """A capture of about ``packets`` packets at ``path``: one generated stretch, repeated in time."""
    base = path.with_suffix(".base.pcap")
    result = generate(scaled_scenario(sites, stretch), base)
    copies = max(1, -(-packets // result["packets"]))
    counts = repeat_in_time(base, path, copies=copies, max_packets=packets)
    base.unlink()
    return counts
