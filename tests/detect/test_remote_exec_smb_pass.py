"""PsExec through the engine when the SMB dissector passes over file data (dissect/base.py PASS_KEYS): the engine
hands it no segment wholly inside a WRITE's data, and with any one segment of a WRITE and the messages about it lost
(every segment of the connection, checked once outside the suite) remote_exec is raised whenever it was when the
dissector was fed every byte (tests/dissect/gapfeed.py: the hole told where it was), and also when the
segment lost held only file data: a hole among bytes passed over is no gap."""

from __future__ import annotations

from typing import Any

import dpkt

from iotwarden.dissect.base import Packet
from iotwarden.dissect.smb import SmbDissector
from iotwarden.engine.core import Engine
from iotwarden.lab import smbwire as w
from iotwarden.model import Observation
from tests.dissect import test_smb1files as s1
from tests.dissect import test_smb2files as s
from tests.dissect.gapfeed import GAP, Chunk, lose, segments
from tests.dissect.test_smbresync import PSEXEC_ALERTS, alerts, converse
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, ipv4

C, S = "10.0.0.1", "10.0.0.2"
WRITE = 8 * 1024  # PSEXESVC.exe written in three 8 KiB WRITEs: six segments each, five of them file data alone


def _psexec() -> list[tuple[bool, bytes]]:
    chunks = s.logon() + s.tree(4, "\\\\SRV\\ADMIN$", s.ADMIN, w.SHARE_DISK) + s.opened(
        5, "PSEXESVC.exe", s.ADMIN, s.FILE_ID, disposition=w.FILE_OVERWRITE_IF, action=w.FILE_CREATED)
    for i in range(3):
        chunks += [(True, w.direct(w.write(6 + i, s.FILE_ID, b"\x90" * WRITE, s.ADMIN, s.SID, offset=WRITE * i))),
                   (False, w.direct(w.write_response(6 + i, WRITE, s.ADMIN, s.SID)))]
    chunks += [(True, w.direct(w.close(90, s.FILE_ID, s.ADMIN, s.SID))),
               (False, w.direct(w.close_response(90, s.ADMIN, s.SID)))]
    return chunks + s.tree(91, "\\\\SRV\\IPC$", s.IPC, w.SHARE_PIPE) + s.opened(92, "svcctl", s.IPC, s.PIPE_ID) \
        + s.over_transceive(s.svcctl_pdus(), mid=93)


def _frames(chunks: list[Chunk]) -> list[bytes]:
    """The connection as frames: handshake, each segment (a lost one left out, its bytes still counted in the
    sequence numbers and acknowledged by the peer's next segment)."""
    nxt = {True: 1000, False: 5000}

    def seg(to_server: bool, data: bytes, flags: int) -> bytes:
        src, dst, sport, dport = (C, S, 50123, 445) if to_server else (S, C, 445, 50123)
        tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=nxt[to_server] % 2**32, ack=nxt[not to_server] % 2**32,
                           flags=flags, data=data)
        return ethernet(bytes(dpkt.ip.IP(src=ipv4(src), dst=ipv4(dst), p=6, data=tcp)))

    frames = [seg(True, b"", SYN)]
    nxt[True] += 1
    frames.append(seg(False, b"", SYN | ACK))
    nxt[False] += 1
    frames.append(seg(True, b"", ACK))
    for to_server, data in chunks:
        if data is GAP:
            nxt[to_server] += 1448
            continue
        frames.append(seg(to_server, data, PSH | ACK))
        nxt[to_server] += len(data)
    return frames


class Counting(SmbDissector):
    feeds = 0

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        Counting.feeds += 1
        return super().feed(pkt, data, state)


def _through_engine(chunks: list[Chunk]) -> list[Observation]:
    engine = Engine([Counting()])
    out = engine.process(batch_of([(i / 100, f) for i, f in enumerate(_frames(chunks))])).observations
    return out + engine.flush().observations


def test_segments_of_file_data_are_not_fed_and_psexec_is_read() -> None:
    chunks = segments(_psexec())
    Counting.feeds = 0
    assert alerts(_through_engine(chunks)) == alerts(converse(chunks)) == PSEXEC_ALERTS
    assert Counting.feeds == len(chunks) - 3 * 5  # each WRITE's five segments of file data alone never fed


def test_smb1_write_andx_file_data_is_not_fed_and_psexec_is_read() -> None:
    """SMB1 (dissect/smb1files.py): PSEXESVC.exe in three 4,000-byte WRITE_ANDX ([MS-CIFS] §2.2.4.43), the segments
    of their data alone not fed."""
    chunks = segments(s1.psexec_session(blocks=3, size=4000))
    Counting.feeds = 0
    assert alerts(_through_engine(chunks)) == alerts(converse(chunks)) == PSEXEC_ALERTS
    assert Counting.feeds == len(chunks) - 3 * 2


def test_any_one_segment_lost_keeps_remote_exec_whenever_it_was_kept_and_a_lost_data_segment_costs_nothing() -> None:
    whole = _psexec()
    chunks = segments(whole)
    data = {i for i, (_, seg) in enumerate(chunks)
            if seg is not None and seg == b"\x90" * len(seg)}  # segments of file data alone
    assert len(data) == 15
    first = min(data) - 1  # the first WRITE's head: its six segments, its response, the next WRITE's head, each lost
    for i in range(first - 1, first + 9):
        lost = lose(chunks, i)
        direct, engine = alerts(converse(lost)), alerts(_through_engine(lost))
        assert set(direct) <= set(engine), i
        if i in data:
            assert engine == PSEXEC_ALERTS, i
