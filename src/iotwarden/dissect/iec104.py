"""IEC 60870-5-104 dissector (tcp 2404): every APDU, its APCI format and, for I-format APDUs, the ASDU header.

Sources: IEC 60870-5-104:2006 §5 (APCI: start 0x68, length of the APDU 4..253, control field of
four octets; I format with send/receive sequence numbers §5.1, S format §5.2, U format STARTDT,
STOPDT, TESTFR act/con §5.3) and §9 (ASDU of IEC 60870-5-101 with a two-octet cause of
transmission, two-octet common address and three-octet information object address); IEC
60870-5-101:2003 §7.2.1 (type identification), §7.2.2 (variable structure qualifier: SQ bit, number
of objects), §7.2.3 (cause of transmission: T test bit, P/N bit, cause 1..47; originator address),
§7.2.4 (common address), §7.2.5 (information object address), §7.2.6.4 / 7.2.6.26 (SCO/DCO/RCO and
QOS: bit 8 S/E, select or execute). Type identification names and causes as Wireshark's
epan/dissectors/packet-iec104.c ``asdu_types`` and ``causetx_types`` list them.

Kinds (subject ``src`` always; the controlled station, RTU or gateway, is the tcp/2404 side):

* ``u_frame``: ``function`` (``startdt_act``, ``startdt_con``, ``stopdt_act``, ``stopdt_con``,
  ``testfr_act``, ``testfr_con``; several bits set: their names joined by ``+``).
* ``s_frame``: ``recv_seq``.
* ``asdu``: ``send_seq``, ``recv_seq``, ``type_id``, ``type`` (``M_ME_NC_1``, ``C_SC_NA_1``; ``unknown``),
  ``sq``, ``num_objects``, ``cot``, ``cause`` (``act``, ``actcon``, ``spont``, ...), ``negative``
  (P/N), ``test`` (T), ``originator_address``, ``common_address``, ``station_address`` (the common
  address of a monitor-direction ASDU, types 1-44 and 70, which only the controlled station sends: its
  own address) and, where present, ``ioa`` (first
  information object address) and ``select`` (commands and set points: S/E bit of the first object).
  A command in control direction (type ids 45-51, 58-64) with cause activation (6) carries
  model/otops.py's ``ot_operation`` ``write``; a reset process command (C_RP_NA_1, 105) activation
  ``restart``; a parameter in control direction (-101 §7.3.5, type ids 110-113: the threshold,
  smoothing factor and transmission limits of a measured value, QPM §7.2.6.24, and their activation,
  QPA §7.2.6.25) ``config`` on activation (6), and for P_AC_NA_1 also on deactivation (8), which
  switches a loaded parameter or a cyclic transmission off: it changes how the station reports its
  process, not the process (T0836). The same types with cause 20-36 are the station's answers to an
  interrogation and stay unmarked. Interrogation, counter interrogation, read, clock synchronisation
  and test commands change nothing on the process and stay unmarked.
  The T (test) bit does not unmark a command: -101 §7.2.3 defines it as marking ASDUs "generated
  during test conditions", not intended to control the process, i.e. the sender's declaration; no
  clause makes the controlled station refuse to execute it (lib60870's CS101_ASDU_isTest only hands the
  bit to the application), so a test-flagged command is still reported as what it asks for, its
  ``test`` field telling the reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.dissect.otstream import ResyncOnGap, collect, frames, u16le
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.model.otops import NAME, OPERATION

PORT = 2404
START = 0x68  # §5: start character of every APDU
MIN_APDU_LENGTH, MAX_APDU_LENGTH = 4, 253  # §5: the length octet counts the control field and the ASDU
ASDU_HEADER = 6  # type id, VSQ, COT (2 octets), common address (2 octets): §9 "ASDU of IEC 60870-5-101"
IOA_SIZE = 3  # §9: information object address of three octets

U_FUNCTIONS = (  # §5.3: bits of the first control octet of a U-format APCI (after its two format bits)
    (0x04, "startdt_act"), (0x08, "startdt_con"), (0x10, "stopdt_act"), (0x20, "stopdt_con"),
    (0x40, "testfr_act"), (0x80, "testfr_con"),
)

TYPES: dict[int, str] = {  # IEC 60870-5-101 §7.2.1.1 / -104 §8, as packet-iec104.c asdu_types
    1: "M_SP_NA_1", 2: "M_SP_TA_1", 3: "M_DP_NA_1", 4: "M_DP_TA_1", 5: "M_ST_NA_1", 6: "M_ST_TA_1",
    7: "M_BO_NA_1", 8: "M_BO_TA_1", 9: "M_ME_NA_1", 10: "M_ME_TA_1", 11: "M_ME_NB_1", 12: "M_ME_TB_1",
    13: "M_ME_NC_1", 14: "M_ME_TC_1", 15: "M_IT_NA_1", 16: "M_IT_TA_1", 20: "M_PS_NA_1", 21: "M_ME_ND_1",
    30: "M_SP_TB_1", 31: "M_DP_TB_1", 32: "M_ST_TB_1", 33: "M_BO_TB_1", 34: "M_ME_TD_1", 35: "M_ME_TE_1",
    36: "M_ME_TF_1", 37: "M_IT_TB_1", 38: "M_EP_TD_1", 39: "M_EP_TE_1", 40: "M_EP_TF_1", 41: "S_IT_TC_1",
    45: "C_SC_NA_1", 46: "C_DC_NA_1", 47: "C_RC_NA_1", 48: "C_SE_NA_1", 49: "C_SE_NB_1", 50: "C_SE_NC_1",
    51: "C_BO_NA_1", 58: "C_SC_TA_1", 59: "C_DC_TA_1", 60: "C_RC_TA_1", 61: "C_SE_TA_1", 62: "C_SE_TB_1",
    63: "C_SE_TC_1", 64: "C_BO_TA_1", 70: "M_EI_NA_1",
    81: "S_CH_NA_1", 82: "S_RP_NA_1", 83: "S_AR_NA_1", 84: "S_KR_NA_1", 85: "S_KS_NA_1", 86: "S_KC_NA_1",
    87: "S_ER_NA_1", 90: "S_US_NA_1", 91: "S_UQ_NA_1", 92: "S_UR_NA_1", 93: "S_UK_NA_1", 94: "S_UA_NA_1",
    95: "S_UC_NA_1",
    100: "C_IC_NA_1", 101: "C_CI_NA_1", 102: "C_RD_NA_1", 103: "C_CS_NA_1", 105: "C_RP_NA_1",
    107: "C_TS_TA_1", 110: "P_ME_NA_1", 111: "P_ME_NB_1", 112: "P_ME_NC_1", 113: "P_AC_NA_1",
    120: "F_FR_NA_1", 121: "F_SR_NA_1", 122: "F_SC_NA_1", 123: "F_LS_NA_1", 124: "F_AF_NA_1",
    125: "F_SG_NA_1", 126: "F_DR_TA_1", 127: "F_SC_NB_1",
}
CAUSES: dict[int, str] = {  # IEC 60870-5-101 §7.2.3, as packet-iec104.c causetx_types
    1: "per_cyc", 2: "back", 3: "spont", 4: "init", 5: "req", 6: "act", 7: "actcon", 8: "deact",
    9: "deactcon", 10: "actterm", 11: "retrem", 12: "retloc", 13: "file", 20: "inrogen",
    **{20 + n: f"inro{n}" for n in range(1, 17)}, 37: "reqcogen", **{37 + n: f"reqco{n}" for n in range(1, 5)},
    44: "unknown_type", 45: "unknown_cause", 46: "unknown_asdu_address", 47: "unknown_ioa",
}
# process information (1-44) and end of initialization (70) in monitor direction (-101 §7.2.1.1 table 8/10):
# the controlled station sends them, whatever the cause
MONITOR_TYPES = frozenset(range(1, 45)) | {70}
ACTIVATION = 6  # §7.2.3 cause "activation": a command as the controlling station sends it
# control-direction process commands and set points (§7.3.2): single, double, regulating step, set point
# normalized/scaled/float, bitstring, and the same with time tag CP56Time2a
WRITE_TYPES = frozenset(range(45, 52)) | frozenset(range(58, 65))
RESET_PROCESS = 105  # C_RP_NA_1, §7.3.4.6
DEACTIVATION = 8  # §7.2.3 cause "deactivation"
# parameter in control direction (§7.3.5): of a measured value, normalized/scaled/float (110-112), and the
# parameter activation (113); loaded with cause activation, P_AC_NA_1 also switched off with deactivation
PARAMETER_TYPES = frozenset({110, 111, 112})
PARAMETER_ACTIVATION = 113
# offset of the qualifier octet with the S/E bit after the IOA: SCO/DCO/RCO (§7.2.6.15-17) is the element,
# set points carry their value, then QOS (§7.2.6.39)
SELECT_OFFSET = {45: 0, 46: 0, 47: 0, 48: 2, 49: 2, 50: 4, 58: 0, 59: 0, 60: 0, 61: 2, 62: 2, 63: 4}


def frame_length(buf: bytes) -> int | None:
    """Size of the APDU at the head of ``buf`` (start octet, length octet, §5)."""
    if len(buf) < 2:
        return None
    if buf[0] != START or not MIN_APDU_LENGTH <= buf[1] <= MAX_APDU_LENGTH:
        raise ParseError(f"not an IEC 104 APCI (start 0x{buf[0]:02x}, length {buf[1]})")
    return 2 + buf[1]


def _u_function(octet: int) -> str:
    names = [name for bit, name in U_FUNCTIONS if octet & bit]
    return "+".join(names) if names else "none"


def _asdu(asdu: bytes, fields: dict[str, Any]) -> None:
    """ASDU header fields (§9, IEC 60870-5-101 §7.2) of an I-format APDU."""
    if len(asdu) < ASDU_HEADER:
        raise ParseError(f"ASDU of {len(asdu)} octets, shorter than its header")
    type_id, vsq, cot = asdu[0], asdu[1], asdu[2]
    fields.update(type_id=type_id, type=TYPES.get(type_id, "unknown"), sq=bool(vsq & 0x80),
                  num_objects=vsq & 0x7F, cot=cot & 0x3F, cause=CAUSES.get(cot & 0x3F, "unknown"),
                  negative=bool(cot & 0x40), test=bool(cot & 0x80), originator_address=asdu[3],
                  common_address=u16le(asdu, 4))
    if type_id in MONITOR_TYPES:  # only the controlled station sends these: the address is its own
        fields["station_address"] = fields["common_address"]
    if len(asdu) >= ASDU_HEADER + IOA_SIZE:
        fields["ioa"] = int.from_bytes(asdu[ASDU_HEADER : ASDU_HEADER + IOA_SIZE], "little")
        qualifier = ASDU_HEADER + IOA_SIZE + SELECT_OFFSET.get(type_id, len(asdu))
        if qualifier < len(asdu):
            fields["select"] = bool(asdu[qualifier] & 0x80)
    if fields["cot"] == ACTIVATION and type_id in WRITE_TYPES:
        fields[OPERATION], fields[NAME] = "write", fields["type"].lower()
    elif fields["cot"] == ACTIVATION and type_id == RESET_PROCESS:
        fields[OPERATION], fields[NAME] = "restart", "c_rp_na_1"
    elif (fields["cot"] == ACTIVATION and type_id in PARAMETER_TYPES) or (
            type_id == PARAMETER_ACTIVATION and fields["cot"] in (ACTIVATION, DEACTIVATION)):
        fields[OPERATION], fields[NAME] = "config", fields["type"].lower()


def parse_apdu(apdu: bytes) -> tuple[str, dict[str, Any]]:
    """Kind and fields of one APDU (start octet through its ASDU)."""
    if len(apdu) < 2 + MIN_APDU_LENGTH:
        raise ParseError("APDU shorter than its control field")
    c1, c3 = apdu[2], apdu[4]
    if c1 & 0x01 == 0:  # §5.1: I format
        fields: dict[str, Any] = {"send_seq": u16le(apdu, 2) >> 1, "recv_seq": u16le(apdu, 4) >> 1}
        _asdu(apdu[6:], fields)
        return "asdu", fields
    if c1 & 0x03 == 0x01:  # §5.2: S format
        return "s_frame", {"recv_seq": u16le(apdu, 4) >> 1}
    if c3 & 0x01:  # §5.3: U format, the third octet's low bit is 0
        raise ParseError("U-format APCI with its third control octet's low bit set")
    return "u_frame", {"function": _u_function(c1)}


class Iec104Dissector(ResyncOnGap, StreamDissector):
    """IEC 104 on its registered port only: a 0x68 start and a length octet are no unambiguous signature."""

    name: ClassVar[str] = "iec104"
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_packets_per_flow: ClassVar[int | None] = None  # a command can come at any moment
    ot_operations: ClassVar[bool] = True

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        pdus, error = frames(state, pkt.to_server, data, frame_length)

        def parse(apdu: bytes) -> Iterator[Observation]:
            kind, fields = parse_apdu(apdu)
            yield pkt.observation(self.name, kind, fields)

        return collect(pdus, [error] if error else [], parse)
