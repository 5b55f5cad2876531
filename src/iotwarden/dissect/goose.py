"""IEC 61850 GOOSE (ethertype 0x88B8) and Sampled Values (0x88BA): which IED or merging unit publishes what.

Both share the IEC 61850-8-1 Annex C link-layer header: APPID, Length (header included), Reserved 1 (bit 15
Simulation, IEC 61850-8-1:2011 §C.2.3.1), Reserved 2; then a BER APDU (ITU-T X.690), read with
dissect/asn1.py. Tags: Wireshark epan/dissectors/asn1/goose/goose.asn and asn1/sv/sv.asn.

kind ``goose`` (IECGoosePdu, [APPLICATION 1]; IEC 61850-8-1 §A.3): ``appid``, ``simulated`` (Reserved 1
bit 15), ``gocb_ref`` [0], ``time_allowed_to_live`` [1] (ms), ``dat_set`` [2], ``go_id`` [3], ``t`` [4]
(UtcTime, IEC 61850-8-1 §8.1.3.6: seconds since 1970 with 24-bit fraction, float), ``st_num`` [5],
``sq_num`` [6], ``test`` [7] (simulation in Ed. 2, test in Ed. 1), ``conf_rev`` [8], ``nds_com`` [9],
``num_dat_set_entries`` [10], ``all_data_count`` (the number of Data elements of allData [11]; the values
are never decoded), and ``ld_name``: gocbRef's part before "/", the logical device name. Per
IEC 61850-7-2 §22 (object references "LDName/LNName$FC$..."), the LD name is the IED name followed by the
LD instance ("AA1C1Q01A1LD0": IED "AA1C1Q01A1", instance "LD0"); without the substation's SCL file the
boundary is not on the wire, so the whole LD name is reported and no IED name is guessed.
kind ``gse_management`` (GSEMngtPdu, [APPLICATION 0] on 0x88B8): ``appid`` only.
kind ``sampled_values`` (savPdu, [APPLICATION 0] on 0x88BA; IEC 61850-9-2 §8.5): ``appid``, ``simulated``,
``no_asdu`` [0], and from the first ASDU: ``sv_id`` [0], ``dat_set`` [1], ``smp_cnt`` [2], ``conf_rev`` [3],
``smp_synch`` [5], ``smp_rate`` [6].
Subject ``src`` (the publisher). No OT operation marks: publishing is the devices' normal operation.

Publishers repeat themselves: a GOOSE message is retransmitted with the same state number every
time-allowed-to-live (IEC 61850-8-1 §18.1: heartbeats of a second or so), a merging unit sends 4,000 SV
frames a second. A frame that says nothing new about its stream (the publisher's MAC, APPID and
gocbRef/svID) is not reported within :data:`REPEAT_S` of the stream's last report: new is another state
number, configuration revision, dataset, simulation or test flag. The next report counts the frames
left out in ``repeats``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar

from iotwarden.dissect import asn1
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.errors import ParseError
from iotwarden.model import Observation

ETHERTYPE_GOOSE, ETHERTYPE_SV = 0x88B8, 0x88BA
HEADER = 8  # APPID, Length, Reserved 1, Reserved 2 (IEC 61850-8-1 §C.2.3)
MAX_TEXT = 129  # VisibleString129 (gocbRef, datSet, goID; IEC 61850-8-1 §A.3); svID is VisibleString129 too
SIMULATION_BIT = 0x8000
TAG_GSE_MNGT, TAG_GOOSE_PDU = 0x60, 0x61  # [APPLICATION 0] / [APPLICATION 1], constructed
TAG_SAV_PDU = 0x60

REPEAT_S = 60.0  # a stream's unchanged frames are reported once a minute
MAX_STREAMS = 4096  # publishers' streams remembered for that (LRU)
# what makes a frame news about its stream (module docstring)
NEWS = ("st_num", "conf_rev", "dat_set", "simulated", "test", "go_id", "no_asdu", "smp_rate", "smp_synch")

GOOSE_TEXT = {0x80: "gocb_ref", 0x82: "dat_set", 0x83: "go_id"}
GOOSE_INT = {0x81: "time_allowed_to_live", 0x85: "st_num", 0x86: "sq_num", 0x88: "conf_rev",
             0x8A: "num_dat_set_entries"}
GOOSE_BOOL = {0x87: "test", 0x89: "nds_com"}
SV_TEXT = {0x80: "sv_id", 0x81: "dat_set"}
SV_INT = {0x82: "smp_cnt", 0x83: "conf_rev", 0x85: "smp_synch", 0x86: "smp_rate"}


def _text(value: bytes) -> str:
    return value[:MAX_TEXT].decode("latin-1")


def _utc_time(value: bytes) -> float:
    """IEC 61850-8-1 §8.1.3.6 UtcTime: 4 octets seconds, 3 octets fraction of a second, 1 octet quality."""
    if len(value) != 8:
        raise ParseError(f"goose: UtcTime of {len(value)} octets")
    return round(int.from_bytes(value[0:4], "big") + int.from_bytes(value[4:7], "big") / (1 << 24), 6)


def _header(payload: bytes) -> tuple[dict[str, Any], bytes]:
    if len(payload) < HEADER + 2:
        raise ParseError("goose: truncated header")
    length = int.from_bytes(payload[2:4], "big")
    if length < HEADER + 2 or length > len(payload):
        raise ParseError(f"goose: Length {length} does not fit the frame")
    fields: dict[str, Any] = {"appid": int.from_bytes(payload[0:2], "big"),
                              "simulated": bool(int.from_bytes(payload[4:6], "big") & SIMULATION_BIT)}
    return fields, payload[HEADER:length]


def parse_goose(value: bytes, fields: dict[str, Any]) -> None:
    """The IECGoosePdu's named components into ``fields``."""
    for tlv in asn1.children(value):
        if tlv.tag in GOOSE_TEXT:
            fields[GOOSE_TEXT[tlv.tag]] = _text(tlv.value)
        elif tlv.tag in GOOSE_INT:
            fields[GOOSE_INT[tlv.tag]] = asn1.integer(tlv.value)
        elif tlv.tag in GOOSE_BOOL:
            fields[GOOSE_BOOL[tlv.tag]] = tlv.value != b"\x00"
        elif tlv.tag == 0x84:
            fields["t"] = _utc_time(tlv.value)
        elif tlv.tag == 0xAB:
            fields["all_data_count"] = len(asn1.children(tlv.value))
    if "gocb_ref" not in fields:
        raise ParseError("goose: no gocbRef")  # mandatory, IEC 61850-8-1 §A.3
    ld_name = fields["gocb_ref"].split("/", 1)[0]
    if ld_name and ld_name != fields["gocb_ref"]:
        fields["ld_name"] = ld_name


def parse_sv(value: bytes, fields: dict[str, Any]) -> None:
    """The savPdu's noASDU and its first ASDU's identity into ``fields``."""
    for tlv in asn1.children(value):
        if tlv.tag == 0x80:
            fields["no_asdu"] = asn1.integer(tlv.value)
        elif tlv.tag == 0xA2:
            first = asn1.read_tlv(tlv.value)
            if first.tag != asn1.SEQUENCE:
                raise ParseError("sv: ASDU is not a SEQUENCE")
            for item in asn1.children(first.value):
                if item.tag in SV_TEXT:
                    fields[SV_TEXT[item.tag]] = _text(item.value)
                elif item.tag in SV_INT:
                    fields[SV_INT[item.tag]] = asn1.unsigned(item.value)  # fixed-size unsigned octets (9-2 §8.6)
    if "sv_id" not in fields:
        raise ParseError("sv: no svID")  # mandatory, IEC 61850-9-2 §8.5.2


class GooseDissector(Dissector):
    name: ClassVar[str] = "goose"
    ethertypes: ClassVar[tuple[int, ...]] = (ETHERTYPE_GOOSE, ETHERTYPE_SV)  # IEC 61850-8-1 / 9-2; VLAN-tagged
    # frames reach it too (the engine strips 802.1Q tags)

    def __init__(self, repeat_s: float = REPEAT_S) -> None:
        self.repeat_s = repeat_s  # 0: every frame is reported
        # stream -> (its last report's time, what it said, frames left out since)
        self._streams: OrderedDict[tuple[object, ...], tuple[float, tuple[object, ...], int]] = OrderedDict()

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        fields, apdu = _header(pkt.payload)
        pdu = asn1.read_tlv(apdu)
        if pkt.ethertype == ETHERTYPE_SV:
            if pdu.tag != TAG_SAV_PDU:
                raise ParseError(f"sv: APDU tag 0x{pdu.tag:02x}")
            parse_sv(pdu.value, fields)
            return self._news(pkt, "sampled_values", fields, fields.get("sv_id"))
        if pdu.tag == TAG_GSE_MNGT:
            return [pkt.observation(self.name, "gse_management", fields)]
        if pdu.tag != TAG_GOOSE_PDU:
            raise ParseError(f"goose: APDU tag 0x{pdu.tag:02x}")
        parse_goose(pdu.value, fields)
        return self._news(pkt, "goose", fields, fields.get("gocb_ref"))

    def _news(self, pkt: Packet, kind: str, fields: dict[str, Any], stream_id: object) -> list[Observation]:
        """The frame's observation, unless it repeats its stream's last report within REPEAT_S."""
        stream = (pkt.src_mac, pkt.ethertype, fields.get("appid"), stream_id)
        said = tuple(fields.get(k) for k in NEWS)
        last = self._streams.get(stream)
        if last is not None and last[1] == said and 0.0 <= pkt.ts - last[0] < self.repeat_s:
            self._streams[stream] = (last[0], said, last[2] + 1)
            return []
        if last is not None and last[2]:
            fields["repeats"] = last[2]
        self._streams[stream] = (pkt.ts, said, 0)
        self._streams.move_to_end(stream)
        if len(self._streams) > MAX_STREAMS:
            self._streams.popitem(last=False)
        return [pkt.observation(self.name, kind, fields)]
