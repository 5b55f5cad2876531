"""DCE/RPC attacks the lab can switch on, drawn as impacket's tools send them over ncacn_ip_tcp ([MS-RPCE]
§2.1.1.1): an endpoint-mapper lookup on tcp/135 (ept_map, C706 Appendix O), then a connection to the dynamic port
it names with a bind to the interface (C706 §12.6.4.3) and the calls:

* ``remote_service_exec``: psexec/smbexec's service execution ([MS-SCMR] §3.1.4: ROpenSCManagerW, RCreateServiceW
  with a binary path that runs the attacker's command, RStartServiceW; ATT&CK T1569.002, T1021.002);
* ``dcsync``: secretsdump's replication request ([MS-DRSR] §4.1: IDL_DRSBind, IDL_DRSGetNCChanges; T1003.006);
* ``psexec``: Sysinternals PsExec over SMB2 on tcp/445 (ncacn_np, [MS-RPCE] §2.1.1.2): an NTLM logon, its service
  binary PSEXESVC.exe written to ADMIN$ in 64 KiB WRITEs (T1570), then on IPC$ the \\PIPE\\svcctl pipe: the bind by
  WRITE and READ, ROpenSCManagerW, RCreateServiceW and RStartServiceW by IOCTL FSCTL_PIPE_TRANSCEIVE (T1569.002).
  With ``dialect: smb1`` the same over SMB1 ([MS-CIFS], as against an XP/2003-era host): NT_CREATE_ANDX, 60 KiB
  WRITE_ANDX, the bind by WRITE_ANDX and READ_ANDX, the calls by TRANSACTION TransactNmPipe (lab/smb1wire.py).

Stubs are NDR ([C706] ch. 14, little-endian) as the server would parse them; the answers are a success status.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab import proto_app, smb1wire, smbwire
from iotwarden.lab.behave_net import RTT_LAN
from iotwarden.lab.params import Param
from iotwarden.lab.wire import Frame, TcpStream
from iotwarden.lab.world import World

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity

EPM_PORT = 135
EPM = ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3)  # [MS-RPCE] §1.9
SVCCTL = ("367abb81-9844-35f1-ad32-98f038001003", 2)  # [MS-SCMR] §1.9
DRSUAPI = ("e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4)  # [MS-DRSR] §1.9
NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)  # NDR transfer syntax (C706 Appendix I)
EPT_MAP, OPEN_SCM, CREATE_SERVICE, START_SERVICE = 3, 15, 12, 19
DRS_BIND, GET_NC_CHANGES = 0, 3
# impacket smbexec.py's service command: the command echoed into a batch file, run, its output to C$\__output
SMBEXEC_COMMAND = ("%COMSPEC% /Q /c echo whoami ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat & "
                   "%COMSPEC% /Q /c %TEMP%\\execute.bat & del %TEMP%\\execute.bat")
SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START, SC_MANAGER_ALL_ACCESS = 0x10, 3, 0xF003F  # [MS-SCMR] §2.2.15
SMB_PORT = 445
PSEXEC_SERVICE = "PSEXESVC"  # PsExec's service and binary name (Sysinternals PsExec v2.x)
WRITE_CHUNK = 65536  # bytes per WRITE, as PsExec copies its binary
WRITE_CHUNK_SMB1 = 61440  # bytes per WRITE_ANDX, Windows's large write over SMB1 ([MS-SMB] §2.2.4.3.1)
DIALECTS = ("smb2", "smb1")
NTLM_FLAGS = 0xE2088297  # [MS-NLMP] §2.2.2.5: 56/128-bit, key exchange, NTLM, sign, seal, Unicode, request target


def _pdu(ptype: int, body: bytes, call_id: int) -> bytes:
    """C706 §12.6.3.1 common header, little-endian NDR, one fragment."""
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\x00\x00\x00", 16 + len(body), 0, call_id) + body


def _bind(iface: tuple[str, int], call_id: int) -> bytes:
    ctx = struct.pack("<HBB", 0, 1, 0) + uuid.UUID(iface[0]).bytes_le + struct.pack("<HH", iface[1], 0)
    ctx += uuid.UUID(NDR[0]).bytes_le + struct.pack("<I", NDR[1])
    return _pdu(11, struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx, call_id)


def _bind_ack(address: int | str, call_id: int) -> bytes:
    """The secondary address is a port (ncacn_ip_tcp) or a pipe's name (ncacn_np), C706 §12.6.4.4 port_any_t."""
    sec = str(address).encode() + b"\x00"
    body = struct.pack("<HHIH", 4280, 4280, 0x1A2B, len(sec)) + sec
    body += b"\x00" * (-(16 + len(body)) % 4) + struct.pack("<B3x", 1)
    body += struct.pack("<HH", 0, 0) + uuid.UUID(NDR[0]).bytes_le + struct.pack("<I", NDR[1])
    return _pdu(12, body, call_id)


def _request(opnum: int, stub: bytes, call_id: int) -> bytes:
    return _pdu(0, struct.pack("<IHH", len(stub), 0, opnum) + stub, call_id)


def _response(stub: bytes, call_id: int) -> bytes:
    return _pdu(2, struct.pack("<IHBB", len(stub), 0, 0, 0) + stub, call_id)


def _wstring(text: str) -> bytes:
    """An NDR conformant varying string (max count, offset, actual count, UTF-16LE with its NUL), 4-aligned."""
    data = (text + "\x00").encode("utf-16-le")
    out = struct.pack("<III", len(text) + 1, 0, len(text) + 1) + data
    return out + b"\x00" * (-len(out) % 4)


def _create_service(handle: bytes, name: str, command: str) -> bytes:
    """RCreateServiceW's in-parameters ([MS-SCMR] §3.1.4.12): the manager's handle, service name, display name,
    access, type, start type, error control, binary path, then no group, tag, dependencies, account or password."""
    return (handle + _wstring(name) + struct.pack("<I", 0x00020000) + _wstring(name)
            + struct.pack("<IIII", SC_MANAGER_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START, 0)
            + _wstring(command) + struct.pack("<IIIIIII", 0, 0, 0, 0, 0, 0, 0))


def _epm_lookup(conn: TcpStream, rng: random.Random, port: int, t: float) -> list[Frame]:
    """ept_map on tcp/135 at ``t`` (C706 Appendix O: the map request's tower); the answer's tower names ``port``."""
    out = conn.handshake(t)
    for from_client, data in ((True, _bind(EPM, 1)), (False, _bind_ack(EPM_PORT, 1)),
                              (True, _request(EPT_MAP, rng.randbytes(120), 2)),
                              (False, _response(rng.randbytes(132) + struct.pack(">H", port), 2))):
        out += conn.send(conn.t + 0.001, from_client, data)
    return out + conn.close(conn.t + 0.002)


def _calls(world: World, act: Activity, iface: tuple[str, int],
           stubs: list[tuple[int, bytes]]) -> tuple[list[Frame], float, float]:
    """An endpoint-mapper lookup, then the calls on the interface's dynamic port; (frames, start, end)."""
    p = act.params
    rng = world.rng("attack", act.key)
    me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    start = world.start + p["start"]
    port = rng.randrange(49664, 49700)  # Windows' RPC dynamic range starts at 49664 ([MS-RPCE] §2.1.1.1 endpoints)
    epm = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, EPM_PORT, rtt=RTT_LAN)
    out = _epm_lookup(epm, rng, port, start)
    conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, port, rtt=RTT_LAN)
    out += conn.handshake(epm.t + 0.01)
    out += conn.send(conn.t + 0.001, True, _bind(iface, 1))
    out += conn.send(conn.t + 0.001, False, _bind_ack(port, 1))
    for call_id, (opnum, stub) in enumerate(stubs, start=2):
        out += conn.send(conn.t + 0.002, True, _request(opnum, stub, call_id))
        out += conn.send(conn.t + 0.002, False, _response(rng.randbytes(20) + b"\x00" * 4, call_id))
    out += conn.close(conn.t + 0.01)
    out.sort(key=lambda f: f[0])
    return out, start, conn.t


def remote_service_exec(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key, "stub")
    handle = b"\x00" * 4 + rng.randbytes(16)  # the SCM context handle ROpenSCManagerW returned
    name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(8))
    stubs = [(OPEN_SCM, struct.pack("<I", 0x00020000) + _wstring(p["target"].upper()) + struct.pack(
                 "<II", 0, SC_MANAGER_ALL_ACCESS)),
             (CREATE_SERVICE, _create_service(handle, name, p["command"])),
             (START_SERVICE, handle + struct.pack("<II", 0, 0))]
    out, start, end = _calls(world, act, SVCCTL, stubs)
    return iter(out), world.attack_truth(act, "T1569.002 System Services: Service Execution (T1021.002)",
                                         start=start, end=end, targets=[world.ips[p["target"]]])


def dcsync(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key, "stub")
    handle = b"\x00" * 4 + rng.randbytes(16)  # the DRS handle IDL_DRSBind returned
    stubs = [(DRS_BIND, struct.pack("<I", 0x00020000) + rng.randbytes(16) + struct.pack("<I", 0)),
             (GET_NC_CHANGES, handle + struct.pack("<II", 8, 8) + rng.randbytes(160))]
    out, start, end = _calls(world, act, DRSUAPI, stubs)
    return iter(out), world.attack_truth(act, "T1003.006 OS Credential Dumping: DCSync", start=start, end=end,
                                         targets=[world.ips[p["target"]]])


def _ntlm(kind: int, payload: list[bytes], head: bytes) -> bytes:
    """An NTLMSSP message ([MS-NLMP] §2.2.1): signature, MessageType, then ``head`` (its descriptors and fields) with
    each payload field's (length, max length, offset) descriptor first."""
    offset = 12 + 8 * len(payload) + len(head)
    descriptors = b""
    for part in payload:
        descriptors += struct.pack("<HHI", len(part), len(part), offset)
        offset += len(part)
    return b"NTLMSSP\0" + struct.pack("<I", kind) + descriptors + head + b"".join(payload)


def _ntlm_tokens(rng: random.Random, user: str) -> tuple[bytes, bytes, bytes]:
    """Raw NTLMSSP NEGOTIATE (no names), CHALLENGE (an empty target information list), AUTHENTICATE (the user, no
    workstation, an NTLMv2-sized response)."""
    negotiate = b"NTLMSSP\0" + struct.pack("<II", 1, NTLM_FLAGS) + b"\0" * 16
    challenge = (b"NTLMSSP\0" + struct.pack("<IHHII", 2, 0, 0, 48, NTLM_FLAGS) + rng.randbytes(8) + b"\0" * 8
                 + struct.pack("<HHI", 4, 4, 48) + b"\0" * 4)  # MsvAvEOL only
    authenticate = _ntlm(3, [b"\0" * 24, rng.randbytes(16) + rng.randbytes(40), b"", user.encode("utf-16-le"), b"",
                             rng.randbytes(16)], struct.pack("<I", NTLM_FLAGS))
    return negotiate, challenge, authenticate


def _logon(rng: random.Random, session_id: int, user: str) -> list[tuple[bool, bytes]]:
    """SESSION_SETUP with raw NTLMSSP ([MS-SMB2] §3.2.5.3)."""
    negotiate, challenge, authenticate = _ntlm_tokens(rng, user)
    return [(True, smbwire.session_setup_request(1, negotiate)),
            (False, smbwire.session_setup_response(1, challenge, session_id, done=False)),
            (True, smbwire.session_setup_request(2, authenticate, session_id)),
            (False, smbwire.session_setup_response(2, b"", session_id, done=True))]


def _psexec_messages(rng: random.Random, target: str, binary: bytes, command: str) -> list[tuple[bool, bytes]]:
    """PsExec's SMB2 messages after NEGOTIATE (module docstring), message ids from 1."""
    sid, admin, ipc = 0x0000_4400_0000_0000 | rng.getrandbits(16), 1, 5
    file_id, pipe_id = rng.randbytes(16), rng.randbytes(16)
    bind = _bind(SVCCTL, 1)
    out = _logon(rng, sid, "administrator")
    mid = 3
    out += [(True, smbwire.tree_connect(mid, f"\\\\{target}\\ADMIN$", sid)),
            (False, smbwire.tree_connect_response(mid, admin, sid, smbwire.SHARE_DISK)),
            (True, smbwire.create(mid + 1, PSEXEC_SERVICE + ".exe", admin, sid,
                                  disposition=smbwire.FILE_OVERWRITE_IF)),
            (False, smbwire.create_response(mid + 1, file_id, admin, sid, action=smbwire.FILE_CREATED))]
    mid += 2
    for at in range(0, len(binary), WRITE_CHUNK):
        chunk = binary[at : at + WRITE_CHUNK]
        out += [(True, smbwire.write(mid, file_id, chunk, admin, sid, offset=at)),
                (False, smbwire.write_response(mid, len(chunk), admin, sid))]
        mid += 1
    out += [(True, smbwire.close(mid, file_id, admin, sid)), (False, smbwire.close_response(mid, admin, sid)),
            (True, smbwire.tree_connect(mid + 1, f"\\\\{target}\\IPC$", sid)),
            (False, smbwire.tree_connect_response(mid + 1, ipc, sid, smbwire.SHARE_PIPE)),
            (True, smbwire.create(mid + 2, "svcctl", ipc, sid)),
            (False, smbwire.create_response(mid + 2, pipe_id, ipc, sid)),
            (True, smbwire.write(mid + 3, pipe_id, bind, ipc, sid)),
            (False, smbwire.write_response(mid + 3, len(bind), ipc, sid)),
            (True, smbwire.read(mid + 4, pipe_id, 4280, ipc, sid)),
            (False, smbwire.read_response(mid + 4, _bind_ack("\\PIPE\\svcctl", 1), ipc, sid))]
    mid += 5
    for call_id, (opnum, stub) in enumerate(_svcctl_stubs(rng, target, command), start=2):
        answer = _response(rng.randbytes(20) + b"\x00" * 4, call_id)
        out += [(True, smbwire.transceive(mid, pipe_id, _request(opnum, stub, call_id), ipc, sid)),
                (False, smbwire.transceive_response(mid, pipe_id, answer, ipc, sid))]
        mid += 1
    return [*out, (True, smbwire.close(mid, pipe_id, ipc, sid)), (False, smbwire.close_response(mid, ipc, sid))]


def _svcctl_stubs(rng: random.Random, target: str, command: str) -> list[tuple[int, bytes]]:
    """(opnum, stub) of ROpenSCManagerW, RCreateServiceW and RStartServiceW as PsExec calls them."""
    handle = b"\x00" * 4 + rng.randbytes(16)
    return [(OPEN_SCM, struct.pack("<I", 0x00020000) + _wstring(target.upper()) + struct.pack(
                "<II", 0, SC_MANAGER_ALL_ACCESS)),
            (CREATE_SERVICE, _create_service(handle, PSEXEC_SERVICE, command)),
            (START_SERVICE, handle + struct.pack("<II", 0, 0))]


def _psexec_messages_smb1(rng: random.Random, target: str, binary: bytes, command: str,
                          native: tuple[str, str]) -> list[tuple[bool, bytes]]:
    """PsExec's SMB1 messages after NEGOTIATE (module docstring), MIDs from 1; ``native``: the NativeOS and
    NativeLanMan the client states (smb1wire.XP_CLIENT or IMPACKET_CLIENT)."""
    uid, admin, ipc, file_fid, pipe_fid = 0x0800 | rng.getrandbits(8), 0x0801, 0x0802, 0x4000, 0x4001
    m = smb1wire
    negotiate, challenge, authenticate = _ntlm_tokens(rng, "administrator")
    out = [(True, m.session_setup_request(1, negotiate, native=native)),
           (False, m.session_setup_response(1, challenge, uid, done=False)),
           (True, m.session_setup_request(2, authenticate, uid, native=native)),
           (False, m.session_setup_response(2, b"", uid, done=True))]
    out += [(True, m.message(m.tree_connect(f"\\\\{target}\\ADMIN$"), mid=3)),
            (False, m.message(m.tree_connect_response("A:"), mid=3, tid=admin, response=True)),
            (True, m.message(m.nt_create("\\" + PSEXEC_SERVICE + ".exe", access=m.GENERIC_WRITE,
                                         disposition=m.FILE_OVERWRITE_IF), mid=4, tid=admin)),
            (False, m.message(m.nt_create_response(file_fid, m.FILE_CREATED, pipe=False), mid=4, tid=admin,
                              response=True))]
    mid = 5
    for at in range(0, len(binary), WRITE_CHUNK_SMB1):
        chunk = binary[at : at + WRITE_CHUNK_SMB1]
        out += [(True, m.message(m.write_andx(file_fid, chunk, mode=0, offset=at), mid=mid, tid=admin)),
                (False, m.message(m.write_andx_response(len(chunk)), mid=mid, tid=admin, response=True))]
        mid += 1
    bind = _bind(SVCCTL, 1)
    out += [(True, m.message(m.close(file_fid), mid=mid, tid=admin)),
            (False, m.message(m.empty(0x04), mid=mid, tid=admin, response=True)),
            (True, m.message(m.tree_connect(f"\\\\{target}\\IPC$"), mid=mid + 1)),
            (False, m.message(m.tree_connect_response("IPC"), mid=mid + 1, tid=ipc, response=True)),
            (True, m.message(m.nt_create("\\svcctl"), mid=mid + 2, tid=ipc)),
            (False, m.message(m.nt_create_response(pipe_fid), mid=mid + 2, tid=ipc, response=True)),
            (True, m.message(m.write_andx(pipe_fid, bind), mid=mid + 3, tid=ipc)),
            (False, m.message(m.write_andx_response(len(bind)), mid=mid + 3, tid=ipc, response=True)),
            (True, m.message(m.read_andx(pipe_fid), mid=mid + 4, tid=ipc)),
            (False, m.message(m.read_andx_response(_bind_ack("\\PIPE\\svcctl", 1)), mid=mid + 4, tid=ipc,
                              response=True))]
    mid += 5
    for call_id, (opnum, stub) in enumerate(_svcctl_stubs(rng, target, command), start=2):
        answer = _response(rng.randbytes(20) + b"\x00" * 4, call_id)
        out += [(True, m.message(m.transact_nmpipe(pipe_fid, _request(opnum, stub, call_id)), mid=mid, tid=ipc)),
                (False, m.message(m.transact_response(answer), mid=mid, tid=ipc, response=True))]
        mid += 1
    return [*out, (True, m.message(m.close(pipe_fid), mid=mid, tid=ipc)),
            (False, m.message(m.empty(0x04), mid=mid, tid=ipc, response=True))]


def psexec(world: World, act: Activity) -> tuple[Iterator[Frame], dict[str, Any]]:
    p = act.params
    rng = world.rng("attack", act.key)
    me, target = world.host(p["attacker"]), world.peer_device(p["attacker"], p["target"])
    start = world.start + p["start"]
    binary = b"MZ" + rng.randbytes(p["binary_kb"] * 1024 - 2)  # a PE image's size; its bytes are never read
    conn = TcpStream(rng, me, world.ephemeral_port(rng, p["attacker"]), target, SMB_PORT, rtt=RTT_LAN)
    if p["dialect"] not in DIALECTS:
        raise ConfigError(f"{act.path}.dialect: one of {', '.join(DIALECTS)}, got {p['dialect']!r}")
    out = conn.handshake(start)
    if p["dialect"] == "smb1":
        filetime = int((conn.t + 11644473600) * 10_000_000)  # 100 ns since 1601 ([MS-DTYP] 2.3.3)
        out += conn.send(conn.t + 0.001, True, smbwire.direct(smb1wire.negotiate_request()))
        out += conn.send(conn.t + 0.001, False, smbwire.direct(smb1wire.negotiate_response(rng.randbytes(16),
                                                                                            filetime)))
        # a Windows attacker states XP's NativeOS (the era SMB1 stands for); another host runs impacket's psexec,
        # whose session setup states 'Unix' and 'Samba': XP's from a camera made the inventory call it Windows
        native = smb1wire.XP_CLIENT if world.runs_windows(p["attacker"]) else smb1wire.IMPACKET_CLIENT
        messages = _psexec_messages_smb1(rng, p["target"], binary, "%SystemRoot%\\PSEXESVC.exe", native)
    else:
        out += conn.send(conn.t + 0.001, True, proto_app.smb2_negotiate_request(rng))
        out += conn.send(conn.t + 0.001, False, proto_app.smb2_negotiate_response(rng, conn.t))
        messages = _psexec_messages(rng, p["target"], binary, "%SystemRoot%\\PSEXESVC.exe")
    for from_client, message in messages:
        out += conn.send(conn.t + 0.001, from_client, smbwire.direct(message))
    out += conn.close(conn.t + 0.01)
    out.sort(key=lambda f: f[0])  # each segment's ACK comes half a round trip after it
    return iter(out), world.attack_truth(act, "T1569.002 System Services: Service Execution (T1570, T1021.002)",
                                         start=start, end=conn.t, targets=[world.ips[p["target"]]])


RPC_ATTACKS: dict[str, tuple[Any, dict[str, Param]]] = {
    "remote_service_exec": (remote_service_exec, {
        "attacker": Param("device"), "target": Param("device", help="the Windows host the service is created on"),
        "start": Param("float", 240.0),
        "command": Param("str", SMBEXEC_COMMAND, "the service's binary path (smbexec's default)")}),
    "dcsync": (dcsync, {"attacker": Param("device"), "target": Param("device", help="the domain controller"),
                        "start": Param("float", 300.0)}),
    "psexec": (psexec, {"attacker": Param("device"), "target": Param("device", help="the Windows host it runs on"),
                        "start": Param("float", 240.0),
                        "binary_kb": Param("int", 380, "size of PSEXESVC.exe copied to ADMIN$", minimum=1),
                        "dialect": Param("str", "smb2", "smb2, or smb1 (as against an XP/2003-era host)")}),
}
