"""SMB dissector: the NetBIOS session service on tcp/139 (RFC 1002 §4.3) and Direct TCP on tcp/445
([MS-SMB2] §2.1), carrying SMB1 (dissect/smb1.py) and SMB2/3 (dissect/smb2.py) messages; what the two
ends say of themselves while they negotiate and authenticate (dissect/ntlmssp.py).

Kinds (subject ``src``, the sender; a request describes the client, a response the server):
``negotiate_request``, ``negotiate_response``, ``session_setup_request``, ``session_setup_response``,
``tree_connect`` (fields in dissect/smb1.py and dissect/smb2.py; every kind has ``smb1``, True for an
SMB1 message), ``message`` (the first message of a direction when it is none of those, a capture that
began after the negotiation: ``smb1``, ``status``), on tcp/139, ``session_request`` (RFC 1002
§4.3.2: the client's ``calling_name`` and the ``called_name`` it asks for, with their ``*_suffix``), and from
a session's trees and opens (dissect/smb2files.py, SMB1's dissect/smb1files.py) ``file_write`` (a file written on
an administrative share) and the ``dcerpc`` calls carried in its named pipes.
A response's ``native_os`` and ``ntlm_version`` are repeated as ``server_native_os`` and
``server_ntlm_version``: what a host states while answering as an SMB server, named for that role as Zeek's
ntlm.log names its ``server_*`` fields, since clients send the same two fields about themselves.

Framing: each message has a 4-byte header, on tcp/139 a type, a flags byte whose low bit extends the
length to 17 bits, and a 16-bit length (RFC 1002 §4.3.1), on tcp/445 a zero byte and a 24-bit length
([MS-SMB2] §2.1). A message over :data:`MAX_MESSAGE` (a READ or WRITE; of an SMB2 compound, such as a CREATE
compounded with a large WRITE, its first MAX_MESSAGE bytes are read), or a WRITE (SMB1 WRITE_ANDX, core WRITE) or
READ response that carries a file's data and no followed pipe's, or a WRITE response or file READ request that
serves one (judged on its first :data:`PEEK` bytes), is skipped unread and not counted among :data:`MAX_MESSAGES`;
an SMB3 encrypted message (TRANSFORM_HEADER ``0xFD 'SMB'``, §2.2.41) ends its direction: nothing after it is
readable; a compressed one (``0xFC 'SMB'``, §2.2.42) is skipped. Bytes that cannot begin a message end
the flow at once when nothing of it was SMB (another protocol's bytes on the port), else that direction.
After a lost segment the direction's partial message is dropped and the next message is looked for
(dissect/smbresync.py: at segment starts, else only where a header validates fully), at most :data:`MAX_RESYNC_SCAN`
bytes; the session's state survives (``gap``). What is left of a message skipped is passed over (dissect/base.py
PASS_KEYS): through the engine its segments are not fed, and a hole among them is no gap. Limits:
:data:`MAX_MESSAGES` read per direction, :data:`IDENTITY_BYTES` (every byte) of a session that has no pipe or
administrative share open, :data:`MAX_FOLLOWED_BYTES` parsed of one that has (file data skipped on its header is not
charged), :data:`MAX_PACKETS` parsed per flow (a safety net; a segment wholly inside skipped data is not counted), and
dissect/smb2files.py's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import dcerpc, smb1, smb1files, smb2, smb2files, smbresync, streambuf
from iotwarden.dissect.base import Packet, StreamDissector, confirm, pass_key
from iotwarden.dissect.netbios import decode_netbios_name
from iotwarden.errors import ParseError
from iotwarden.model import Observation

NBSS_PORT = 139
MAX_MESSAGE = 64 * 1024  # bytes of a message read; a SESSION_SETUP with a Kerberos ticket is a few KiB
MAX_MESSAGES = 1024  # messages read per direction: negotiation and logons first, then trees, opens and pipe calls
# bytes read of any session, both directions (its identity: negotiation and logons, a few KiB with Kerberos
# tickets); past them only while it has a named pipe or an administrative share open, or is opening one
# (smb2files.Session.following), so a user's file copy costs about what it did under the old 96-packet cap.
# Bytes, not packets, so that what is read does not depend on how the stream was cut into segments
IDENTITY_BYTES = 128 * 1024
# bytes parsed of a followed session, both directions: the messages read (each one's 4 + length, a compound's head),
# and the PEEK bytes of each message skipped on its header; a file's data skipped on its header ([MS-SMB2] §2.2.21
# WRITE DataOffset/Length, §2.2.20 READ response; SMB1 WRITE_ANDX [MS-CIFS] §2.2.4.43, READ_ANDX §2.2.4.42) is never
# copied nor charged, so a copy of any size to or from ADMIN$ does not hide the calls after it. A PsExec session
# parses a few KiB to a few MiB; MAX_MESSAGES (1024 a direction, at most 64 KiB each) bounds most of what can be
# parsed, this the rest (compound heads, the PEEKs of endless tiny WRITEs): parsing costs 2-6 ms per MB (pipe WRITEs
# of DCE/RPC fragments, compound heads), so at most ~0.4 s of CPU a flow
MAX_FOLLOWED_BYTES = 64 * 1024 * 1024
# packets of a flow whose bytes reach the parser (a segment wholly inside a skipped message is not counted): a safety
# net behind MAX_FOLLOWED_BYTES, reached first only by a flow of segments under 256 bytes. The engine hands an SMB flow
# every packet (max_packets_per_flow None), rather than a packet cap that a 400 MiB copy would reach; the rest of a
# message skipped is passed over (dissect/base.py PASS_KEYS), so a segment wholly inside it is neither copied nor fed
# (the engine's whole loop on a 1 GiB copy in 1448-byte segments: ~8.5 CPU s instead of ~13)
MAX_PACKETS = 262_144
# bytes of a direction passed over after a lost segment while looking for the next message (dissect/smbresync.py):
# any point of the stream is less than one message before the next header, and a message is at most 16 MiB (Direct
# TCP's 24-bit length; the negotiated MaxWriteSize is 8 MiB on Windows), searched in C at ~1.3 ms per MiB
MAX_RESYNC_SCAN = smbresync.DIRECT_MAX + 4
# messages read after a resync before the direction is trusted again: until then bytes that do not frame, or a message
# that does not parse, resume the search (``_look_again``) instead of closing the direction: a false match would be
# followed by bytes that frame no message, and the second message confirms the first ended where it said
RESYNC_CONFIRM = 2
PEEK = 4 + smb2.HEADER + 32  # bytes of a message that tell whether it only carries a file's data (smb2files)
ENCRYPTED = b"\xfdSMB"  # [MS-SMB2] §2.2.41 SMB2 TRANSFORM_HEADER
COMPRESSED = b"\xfcSMB"  # [MS-SMB2] §2.2.42 SMB2 COMPRESSION_TRANSFORM_HEADER
MAGICS = (smb1.MAGIC, smb2.MAGIC, ENCRYPTED, COMPRESSED)
# RFC 1002 §4.3.1 session packet types: message, request, positive, negative, retarget, keep-alive
SESSION_MESSAGE, SESSION_REQUEST, KEEP_ALIVE = 0x00, 0x81, 0x85
NBSS_TYPES = frozenset({0x00, 0x81, 0x82, 0x83, 0x84, 0x85})
SERVER_STATEMENTS = ("native_os", "ntlm_version")  # repeated as server_* in responses (module docstring)


def session_names(data: bytes) -> dict[str, Any]:
    """CALLED NAME and CALLING NAME of a SESSION REQUEST (RFC 1002 §4.3.2), each an encoded NetBIOS name
    (RFC 1002 §4.1: a 32-byte label, then scope labels, then a zero byte)."""
    fields: dict[str, Any] = {}
    pos = 0
    for role in ("called", "calling"):
        if pos >= len(data) or data[pos] != 32 or pos + 33 > len(data):
            raise ParseError("smb: SESSION REQUEST name is not a 32-byte encoded NetBIOS name")
        name, suffix = decode_netbios_name(data[pos + 1 : pos + 33].decode("ascii", "replace"))
        pos += 33
        while pos < len(data) and data[pos]:  # scope labels (RFC 1001 §14.2)
            pos += 1 + data[pos]
        pos += 1
        fields[f"{role}_name"], fields[f"{role}_suffix"] = name, suffix
    return fields


class SmbDissector(StreamDissector):
    name: ClassVar[str] = "smb"
    tcp_ports: ClassVar[tuple[int, ...]] = (NBSS_PORT, 445)
    max_packets_per_flow: ClassVar[int | None] = None  # MAX_PACKETS is counted by the dissector, skipped segments not
    max_buffer: ClassVar[int] = MAX_MESSAGE + 4

    def probe(self, payload: bytes, to_server: bool) -> bool:
        """A Direct TCP header (a zero byte, a 24-bit length) before an SMB1 or SMB2 header."""
        return len(payload) >= 8 and payload[0] == 0 and payload[4:8] in (smb1.MAGIC, smb2.MAGIC)

    def gap(self, state: dict[str, Any], to_server: bool) -> None:
        """A lost segment: the direction's partial message (or what was left to skip of one) is dropped and the
        direction looks for its next message (dissect/smbresync.py); the session's trees, pipes, dialect and waiting
        requests stay. Each pipe's DCE/RPC reader of the direction drops its partial PDU and the calls it was putting
        together (dcerpc.lose): a fragment may have been in the hole."""
        key = streambuf.direction_key(to_server)
        if state.get("closed_" + key):
            return
        state.pop(key, None)
        state.pop(pass_key(to_server), None)
        state["lost_" + key] = 0  # bytes passed over since the hole
        state["starts_" + key] = []
        session, session1 = self._session(state), self._session1(state)
        session.lost = session1.lost = True  # a tree not seen connected from now on may be the hole's (following)
        for pipe in [*session.pipes.values(), *session1.pipes.values()]:
            dcerpc.lose(pipe.rpc, to_server)

    @staticmethod
    def _confirm(state: dict[str, Any], key: str) -> None:
        """A message after a resync was read (or skipped on its header): one fewer to confirm it."""
        fresh = state.get("fresh_" + key)
        if fresh is not None:
            if fresh > 1:
                state["fresh_" + key] = fresh - 1
            else:
                del state["fresh_" + key]

    def _look_again(self, pkt: Packet, state: dict[str, Any], *, key: str, nbss: bool) -> bool:
        """The message a resync found was none (it does not frame, or does not parse): the search goes on in what is
        left of the direction's buffer; True when it begins another message."""
        state["lost_" + key], state["starts_" + key] = 0, []
        state["false_resyncs"] = state.get("false_resyncs", 0) + 1
        return self._resync(pkt, b"", state, key=key, nbss=nbss)

    def _resync(self, pkt: Packet, data: bytes, state: dict[str, Any], *, key: str, nbss: bool) -> bool:
        """After a hole: ``data`` joins what may begin the next message; True once the direction's buffer begins one.
        Past :data:`MAX_RESYNC_SCAN` bytes without one, the direction is closed (it was no SMB). What is kept meanwhile
        is what a candidate still needs to be judged (at most an SMB1 header's 4 + 32 + 3 + 510 bytes; else the last 7)
        and the segment starts within it (``starts_<direction>``)."""
        buf: bytearray = state.setdefault(key, bytearray())
        starts: list[int] = state["starts_" + key]
        starts.append(len(buf))
        buf += data
        limit = state.get("max_message") or (smbresync.NBSS_MAX if nbss else smbresync.DIRECT_MAX)
        found, drop, judged = smbresync.seek(buf, starts, nbss=nbss, to_server=pkt.to_server, limit=limit)
        state["parsed"] = state.get("parsed", 0) + judged * PEEK  # each position judged costs as a header read
        if found is not None:
            del buf[:found]
            state["resynced"] = state.get("resynced", 0) + 1
            state["fresh_" + key] = RESYNC_CONFIRM  # till so many messages are read, one that is none looks again
            del state["lost_" + key], state["starts_" + key]
            return True
        del buf[:drop]
        starts[:] = [at - drop for at in starts if at >= drop]
        lost = state["lost_" + key] = state["lost_" + key] + drop
        if lost > MAX_RESYNC_SCAN:
            self._close(state, key)
        return False

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        key = streambuf.direction_key(pkt.to_server)
        if state.get("closed_" + key):
            return []
        skip_key = pass_key(pkt.to_server)  # the engine takes the count over when feed returns (dissect/base.py)
        skip = state.get(skip_key, 0)
        if skip and not state.get(key):  # inside a message not read (file data): nothing is copied nor charged
            if skip >= len(data):
                state[skip_key] = skip - len(data)
                return []
            state[skip_key] = 0
            data = data[skip:]  # the rest of the segment begins the next message
        # every byte: the identity rule's measure; those passed over were counted when the skip was set
        read = state["read"] = state.get("read", 0) + len(data)
        packets = state["packets"] = state.get("packets", 0) + 1
        nbss = NBSS_PORT in (pkt.src_port, pkt.dst_port)
        if "lost_" + key in state:
            if not self._resync(pkt, data, state, key=key, nbss=nbss):
                if packets >= MAX_PACKETS or state.get("parsed", 0) >= MAX_FOLLOWED_BYTES or (
                        read >= IDENTITY_BYTES and state.get("idle")):
                    state["done"] = True
                return []
            buf: bytearray = state[key]  # it begins the next message, and holds this segment's bytes
        else:
            buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        error: ParseError | None = None  # a bad message inside the framing costs only itself
        while buf and not state.get("closed_" + key):
            skip = state.get(skip_key, 0)
            if skip:  # the rest of a message not read
                n = min(skip, len(buf))
                del buf[:n]
                state[skip_key] = skip - n
                continue
            kind, length = self._frame(buf, nbss)
            if kind is None and state.pop("fresh_" + key, False):  # what a resync took for a message was none
                del buf[:1]
                if self._look_again(pkt, state, key=key, nbss=nbss):
                    continue
                break
            if kind is None:
                self._refuse(state, key)
                raise streambuf.failed(ParseError("smb: bytes that begin no SMB transport message"), out)
            if length > MAX_MESSAGE and state.get("said_" + key):
                if len(buf) < PEEK:  # whether it is a compound is known from its first header, the file it writes
                    break  # from its first PEEK bytes (_wrote), whatever the segmentation
                if buf[4:8] == smb2.MAGIC and buf[24:28] != b"\0\0\0\0":  # NextCommand: a compound, its head read
                    if len(buf) < 4 + MAX_MESSAGE:
                        break
                    body = bytes(buf[4 : 4 + MAX_MESSAGE])
                    del buf[: 4 + MAX_MESSAGE]
                    state[skip_key] = length - MAX_MESSAGE
                    state["parsed"] = state.get("parsed", 0) + 4 + MAX_MESSAGE
                    try:
                        self._session(state).message(pkt, body, out, cut=True)
                    except ParseError as exc:
                        error = exc
                    continue
            peek = min(PEEK, 4 + length)  # judged on its first PEEK bytes, or all of a shorter message
            if length > MAX_MESSAGE or (len(buf) >= peek and state.get("said_" + key)
                                        and self._skippable(state, buf[4:peek])):
                state[skip_key] = 4 + length  # bulk, or a file's data: never read, nor counted
                state["parsed"] = state.get("parsed", 0) + peek  # its header's bytes, not its data
                self._wrote(state, buf[4:peek])
                self._confirm(state, key)
                continue
            if len(buf) < 4 + length:
                break
            body = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            state["parsed"] = state.get("parsed", 0) + 4 + length
            try:
                self._message(pkt, kind, body, key=key, state=state, out=out)
            except ParseError as exc:
                if not state.get("smb_seen"):
                    self._refuse(state, key)
                    raise streambuf.failed(exc, out) from exc
                if state.pop("fresh_" + key, False):  # a message just after a resync: none after all
                    if self._look_again(pkt, state, key=key, nbss=nbss):
                        continue
                    break
                error = exc
            self._confirm(state, key)
        if not state.get("closed_" + key):
            streambuf.bound(state, buf, self.max_buffer)
        beyond = state.get(skip_key, 0)  # the rest of a message passed over comes after these bytes: read now
        if beyond:
            read = state["read"] = read + beyond
        # past its identity, a session with no pipe or admin share open is file data; any past MAX_FOLLOWED_BYTES parsed
        idle = state["idle"] = not (self._session(state).following() or self._session1(state).following())
        if state.get("parsed", 0) >= MAX_FOLLOWED_BYTES or packets >= MAX_PACKETS or (read >= IDENTITY_BYTES and idle):
            state["done"] = True
        if error is not None:
            raise streambuf.failed(error, out)
        return out

    @staticmethod
    def _frame(buf: bytearray, nbss: bool) -> tuple[int | None, int]:
        """(session packet type, length) of the header at the start of ``buf``, judged on what has arrived
        (a shorter buffer says the least length it can); type None when the bytes begin no message."""
        head = bytes(buf[:8]).ljust(4, b"\0")
        if nbss:
            kind: int | None = head[0] if head[0] in NBSS_TYPES and not head[1] & 0xFE else None
            length = ((head[1] & 1) << 16) | int.from_bytes(head[2:4], "big")
        else:  # Direct TCP: a zero byte, then StreamProtocolLength (24 bits)
            kind, length = (SESSION_MESSAGE if head[0] == 0 else None), int.from_bytes(head[1:4], "big")
        if kind == SESSION_MESSAGE and len(buf) >= 8 and length >= 4 and head[4:8] not in MAGICS:
            kind = None
        return kind, length

    def _message(self, pkt: Packet, kind: int, body: bytes, *, key: str, state: dict[str, Any],
                 out: list[Observation]) -> None:
        if kind == SESSION_REQUEST:
            state["smb_seen"] = True
            out.append(pkt.observation(self.name, "session_request", session_names(body)))
            return
        if kind != SESSION_MESSAGE or not body:
            confirm(state)  # a session response or keep-alive (RFC 1002 §4.3.3-§4.3.7): valid, says nothing
            return
        magic = body[:4]
        if magic in (ENCRYPTED, COMPRESSED):
            state["smb_seen"] = True
            confirm(state)
            if magic == ENCRYPTED:
                self._close(state, key)  # the session is encrypted from here on: nothing more to read
            return
        if magic == smb1.MAGIC:
            parsed = smb1.parse(body, state.get("dialects"))
        elif magic == smb2.MAGIC:
            parsed = smb2.parse(body)
            limit = smbresync.negotiated_limit(body)
            if limit is not None:
                state["max_message"] = min(limit, smbresync.DIRECT_MAX)
        else:
            raise ParseError("smb: a session message that is no SMB message")
        state["smb_seen"] = True
        count = state.get("messages_" + key, 0) + 1
        state["messages_" + key] = count
        if count >= MAX_MESSAGES:
            self._close(state, key)
        self._say(pkt, parsed, key=key, state=state, out=out)
        if magic == smb2.MAGIC:  # its trees, opens and pipes, after what it says of the two ends
            self._session(state).message(pkt, body, out)
        else:
            self._session1(state).message(pkt, body, out)

    def _say(self, pkt: Packet, parsed: list[tuple[str, dict[str, Any]]], *, key: str, state: dict[str, Any],
             out: list[Observation]) -> None:
        for name, fields in parsed:
            if name == "negotiate_request" and fields["smb1"]:
                state["dialects"] = fields["dialects"]
            if name == "other":
                if state.get("said_" + key):
                    confirm(state)
                    continue
                name = "message"
            state["said_" + key] = True
            if name.endswith("_response"):
                fields.update({f"server_{f}": fields[f] for f in SERVER_STATEMENTS if f in fields})
            out.append(pkt.observation(self.name, name, fields))

    @staticmethod
    def _session(state: dict[str, Any]) -> smb2files.Session:
        session: smb2files.Session | None = state.get("smb2")
        if session is None:
            session = state["smb2"] = smb2files.Session()
        return session

    @staticmethod
    def _session1(state: dict[str, Any]) -> smb1files.Session:
        session: smb1files.Session | None = state.get("smb1")
        if session is None:
            session = state["smb1"] = smb1files.Session()
        return session

    def _skippable(self, state: dict[str, Any], head: bytearray) -> bool:
        if head[:4] == smb1.MAGIC:
            return self._session1(state).skippable(head)
        return self._session(state).skippable(head)

    def _wrote(self, state: dict[str, Any], head: bytearray) -> None:
        """A message skipped on its header ``head``: a WRITE is noted for dissect/smbstage.py (a staged file written,
        a handle known)."""
        if head[:4] == smb1.MAGIC:
            self._session1(state).wrote(head)
        else:
            self._session(state).wrote(head)

    def _refuse(self, state: dict[str, Any], key: str) -> None:
        self._close(state, key)
        if not state.get("smb_seen"):
            state["done"] = True  # nothing of the flow was SMB: its bytes are another protocol's

    @staticmethod
    def _close(state: dict[str, Any], key: str) -> None:
        state["closed_" + key] = True
        state.pop(key, None)
        if state.get("closed_" + streambuf.C2S) and state.get("closed_" + streambuf.S2C):
            state["done"] = True
