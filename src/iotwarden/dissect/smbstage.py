"""A service binary staged on a share whose TREE_CONNECT the capture missed: the file an SMB session created for
writing and wrote on a tree it never saw connected is on an administrative share when the service the same session
then creates through svcctl runs it (PsExec, impacket psexec, Metasploit's psexec: T1570, T1569.002).

RCreateServiceW and RCreateServiceA ([MS-SCMR] §3.1.4.12, §3.1.4.33) carry, NDR-marshalled (C706 §14), the manager's
handle, the service's name, its display name (a unique pointer), four DWORDs, then ``lpBinaryPathName``, the command
the service runs. Where that path's program lies tells the share: ``%SystemRoot%\\X`` (or ``%windir%``) is X on ADMIN$,
the share of %SystemRoot% ([MS-SRVS] §2.2.2.4), or Windows\\X on C$ (C:\\Windows, where Windows installs); ``D:\\X`` is
X on D$, D's administrative share, and ``C:\\Windows\\X`` X on ADMIN$ too; ``\\\\host\\ADMIN$\\X`` names its share. Only
a file the path names, written on a tree not seen connected (never on one known as IPC$ or a user's share), is said
written there, as ``file_write`` with ``share_inferred``; the tree stays unknown. So is a file an open on an
administrative share created for writing whose answer was lost, its share known, ``created`` None: its handle is
unknown, but the client knows a handle only from an answer, so a WRITE on that tree with a handle that no answer seen
gave (``known``) is that open's when it is the only such open on the tree not bound to another handle; bound to it
(``Staged.handle``), the open's file is written by that handle's WRITEs alone. A handle no open could have given it
(none waiting on the tree), or more than one could, is known from then on and never bound; so is one written on an
administrative share while no open waits (it was given before any answer was lost). A CLOSE of a handle unties it
(:func:`closed`): the file staged under it, or the open bound to it, keeps what was written but takes no later WRITE
on that handle, which a later open may be given again (SMB1 FIDs are). Limits: :data:`MAX_STAGED` files waiting per
connection, :data:`MAX_KNOWN` handles known, the oldest dropped first. A handle dropped from either table may still be
written, and would then be neither staged nor known, so once one is (:attr:`Known.forgot`) no WRITE is bound to an open
whose answer was lost any more: such a file is then not said written rather than said written by another's WRITEs.
The tables, and so that flag, are a connection's, as the handles they hold are in SMB1 (a FID is unique within and
valid for its connection, [MS-CIFS] §2.2.1.6.1, §3.3.1.3 Server.Connection.FileOpenTable) and in SMB2 without
multichannel (an open is its session's, a session its connection's). An SMB 3.x session bound to further connections
(a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING, [MS-SMB2] §2.2.5, §3.3.5.5; §3.2.5.3.3) uses its opens on each of
them, so on a channel that bound it a handle may be one an answer on another connection gave, never seen here: none
is bound there either (:attr:`Known.shared`). The connection that set such a session up cannot tell that channels
were bound to it later (nothing on it says so): not covered.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from iotwarden.dissect import dcerpc, dcerpcpdu, smbshare, streambuf
from iotwarden.dissect.base import Packet
from iotwarden.model import Observation

MAX_STAGED = 16  # files created for writing on trees not seen connected, per connection, awaiting a service naming one
# handles per connection that are no lost answer's (given by an answer seen to an open for writing on an administrative
# share, written there while no open awaited a lost answer, or written when no open, or several, could have given
# them): those of administrative shares alone, each kept till its CLOSE, so what a client holds open there at once
# (a copy to C$ of hundreds of files, CLOSEs the capture lost); a 16-byte FileId or a FID each, some 100 bytes of
# memory an entry at most, 100 KiB a connection. Past it the oldest is dropped and no handle is bound from then on
# (Known.forgot)
MAX_KNOWN = 1024
CONTEXT_HANDLE = 20  # SC_RPC_HANDLE: an RPC context handle ([MS-SCMR] §2.2.1.1, C706 §14.3.12)
SERVICE_DWORDS = 4  # dwDesiredAccess, dwServiceType, dwStartType, dwErrorControl
CREATE_SERVICE = {"CreateServiceW": 2, "CreateServiceA": 1}  # [MS-SCMR] §3.1.4.12 wchar_t, §3.1.4.33 char strings
SYSTEM_ROOTS = ("%systemroot%\\", "%windir%\\")  # environment strings an SCM expands to C:\Windows
WINDOWS = "windows\\"  # %SystemRoot%'s folder under its drive's root
UNSEEN = "unseen"  # dissect/smb2files.py's class of a tree known from its TREE_CONNECT answer alone: a disk share
ADMIN = "admin"  # dissect/smbshare.py's class of ADMIN$ and C$..Z$


@dataclass
class Staged:
    """A file created (or opened) for writing on a tree not seen connected, or on an administrative share (``share``)
    by an open whose answer was lost: its name in the share, its TreeId (TID), the open's disposition, whether the
    server created it (None: its answer lost), whether a WRITE on it followed, and, its answer lost, the handle the
    WRITEs taken for its carry (None till one does)."""

    name: str
    tree: Any
    disposition: str
    created: bool | None
    written: bool = False
    share: str | None = None
    handle: Any = None


CLOSED = object()  # Staged.handle of an open whose handle was closed: no WRITE is its from then on


class Known(dict[Any, None]):
    """The handles of a connection that are no lost answer's (:func:`given`), oldest first, at most :data:`MAX_KNOWN`.
    ``forgot``: a handle that may still be written was dropped for room, from here or from the staged files (an open
    whose answer was lost, its handle unknown, :func:`stage`), so a handle not known may be that one: none is bound to
    an open whose answer was lost from then on (:func:`wrote`). ``shared``: the connection is a channel bound to a
    session set up on another (SMB2_SESSION_FLAG_BINDING, [MS-SMB2] §3.3.5.5, SMB 3.x multichannel), whose opens are
    the session's: a handle an answer on another connection gave is written here as any, so a handle not known may be
    one: the same."""

    forgot: bool = False
    shared: bool = False

    @property
    def binds(self) -> bool:
        """Whether a handle neither staged nor known may be bound to an open whose answer was lost (:func:`wrote`):
        every handle the client may write here was given by an answer on this connection, or is that open's."""
        return not (self.forgot or self.shared)


def binary_path(pdu: bytes, head: tuple[int, int, str, int, int, int], operation: str | None) -> str | None:
    """``lpBinaryPathName`` of a whole RCreateServiceW/A request PDU (one fragment: a first and last, ``head`` its
    dcerpcpdu.header), ``operation`` the name dcerpc.py gave the call; None for another call or a stub that does not
    parse."""
    ptype, flags, order, frag, auth, _ = head
    width = CREATE_SERVICE.get(operation or "")
    if width is None or ptype != dcerpcpdu.REQUEST or flags & 0x03 != 0x03:
        return None
    stub = pdu[dcerpcpdu.HEADER + 8 + (16 if flags & dcerpcpdu.PFC_OBJECT_UUID else 0) :
               frag - (auth + dcerpcpdu.AUTH_VERIFIER if auth else 0)]
    at = _string(stub, CONTEXT_HANDLE, order, width)[1]  # lpServiceName
    if at < 0 or at + 4 > len(stub):
        return None
    if struct.unpack_from(order + "I", stub, at)[0]:  # lpDisplayName: a unique pointer's referent follows it
        at = _string(stub, at + 4, order, width)[1]
    else:
        at += 4
    if at < 0:
        return None
    return _string(stub, at + 4 * SERVICE_DWORDS, order, width)[0]


def _string(stub: bytes, at: int, order: str, width: int) -> tuple[str | None, int]:
    """The NDR conformant varying string at ``at`` (4-aligned: MaximumCount, Offset 0, ActualCount, then its
    characters, C706 §14.3.4.2) without its NUL, and where the next 4-aligned item begins; (None, -1) when it does
    not fit ``stub``."""
    at += -at % 4
    if at < 0 or at + 12 > len(stub):
        return None, -1
    maximum, offset, actual = struct.unpack_from(order + "III", stub, at)
    end = at + 12 + actual * width
    if offset or actual > maximum or end > len(stub):
        return None, -1
    raw = stub[at + 12 : end]
    text = raw.decode("utf-16-le" if order == "<" else "utf-16-be", "replace") if width == 2 else raw.decode(
        "latin-1")
    return text.rstrip("\0"), end + (-end % 4)


def placements(path: str) -> list[tuple[str, str]]:
    """(share, file in the share) where the program a service's binary path runs may have been written (module
    docstring), most likely first; [] when its place is no administrative share's."""
    text = path.strip()
    program = text[1:].split('"', 1)[0] if text.startswith('"') else (text.split() or [""])[0]
    program = program.replace("/", "\\")
    low = program.lower()
    for root in SYSTEM_ROOTS:
        if low.startswith(root):
            rest = program[len(root) :]
            return [("ADMIN$", rest), ("C$", "Windows\\" + rest)]
    if low.startswith("\\\\"):  # \\host\share\file
        parts = program[2:].split("\\", 2)
        share = smbshare.describe(parts[1]) if len(parts) == 3 else {}
        return [(share["share"], parts[2])] if share.get("share_class") == "admin" else []
    if len(program) > 3 and program[0].isascii() and program[0].isalpha() and program[1:3] == ":\\":
        drive, rest = program[0].upper() + "$", program[3:]
        out = [(drive, rest)]
        if rest.lower().startswith(WINDOWS):
            out.insert(0, ("ADMIN$", rest[len(WINDOWS) :]))
        return out
    return []


def infer(staged: dict[Any, Staged], trees: dict[Any, tuple[str | None, str, bool]], path: str, pkt: Packet, *,
          smb1: bool) -> list[Observation]:
    """The ``file_write`` of each file in ``staged`` that was written and that the service binary ``path`` names: on a
    tree still not known (not seen connected, or known from its answer alone as a disk share of unknown name), with the
    share the path places it on and ``share_inferred``; on an administrative share by an open whose answer was lost,
    when the path places it there. Each such file is taken out of ``staged``. Stated by the client, at the time of
    ``pkt`` (the svcctl call that named it)."""
    places = [(share, file.lower()) for share, file in placements(path)]
    out: list[Observation] = []
    for handle, file in list(staged.items()):
        tree = trees.get(file.tree)
        if not file.written or (file.share is None and tree is not None and tree[1] != UNSEEN):
            continue
        name = file.name.replace("/", "\\").lstrip("\\").lower()
        share = next((share for share, placed in places if placed == name and file.share in (None, share)), None)
        if share is None:
            continue
        del staged[handle]
        fields = {"smb1": smb1, "share": share, "share_class": "admin", "file": file.name,
                  "disposition": file.disposition, "created": file.created,
                  **({"share_inferred": True} if file.share is None else {})}
        out.append(streambuf.oriented(pkt, True).observation("smb", "file_write", fields))
    return out


def wrote(staged: dict[Any, Staged], handle: Any, tree: Any, known: Known) -> None:
    """A WRITE on ``handle`` of tree ``tree``: the file staged under that handle was written. A handle neither staged
    nor ``known`` (no answer seen gave it) is that of an open on that tree whose answer was lost (the client knows a
    handle only from an answer): the one bound to it, else the only one not bound yet, which it is bound to; with
    none, or more than one, or once ``known`` forgot a handle (it may be that one), or on a channel of a session bound
    to several connections (it may be another's), it is nobody's and known from then on (module docstring)."""
    file = staged.get(handle)
    if file is not None:
        file.written = True
        return
    if handle in known:
        return
    lost = [file for file in staged.values() if file.share is not None and file.tree == tree
            and file.handle in (None, handle)]
    bound = [file for file in lost if file.handle == handle]
    if bound or (len(lost) == 1 and known.binds):
        file = (bound or lost)[0]
        file.handle = handle
        file.written = True
        return
    given(known, handle)


def written(staged: dict[Any, Staged], known: Known, trees: dict[Any, Any], handle: Any, tree: Any) -> None:
    """A WRITE request on ``handle`` of ``tree`` (its TreeId, or the tree a TREE_CONNECT of its compound asks for):
    :func:`wrote` while something is staged; else, on an administrative share, the handle is known (:func:`given`),
    given before any open's answer was lost. While nothing is staged, handles written on other shares are not kept:
    no lost answer is awaited there, and they would push out those of ADMIN$."""
    if staged:
        wrote(staged, handle, tree, known)
    elif (tree if isinstance(tree, tuple) else trees.get(tree, (None, None)))[1] == ADMIN:
        given(known, handle)


def closed(staged: dict[Any, Staged], known: Known, handle: Any, tree: Any) -> None:
    """A CLOSE request of ``handle`` on ``tree`` unties it ([MS-CIFS] §2.2.4.5.1, [MS-SMB2] §2.2.15; the answers name
    no handle): the file staged under it keeps its place (its age) and what was written, under a key no handle equals;
    the open bound to it, or a handle neither staged nor known being that of the only open on the tree whose answer was
    lost not bound yet (as in :func:`wrote`), that open, takes no WRITE from then on (:data:`CLOSED`); the handle is no
    longer known, a later open may be given it again."""
    files = [file for file in staged.values() if file.handle == handle]
    if not files and handle not in staged and handle not in known:
        files = [file for file in staged.values() if file.share is not None and file.tree == tree
                 and file.handle is None]
        files = files if len(files) == 1 else []
    for file in files:
        file.handle = CLOSED
    known.pop(handle, None)
    if handle in staged:
        kept = [(object() if key == handle else key, file) for key, file in staged.items()]
        staged.clear()
        staged.update(kept)


def given(known: Known, handle: Any) -> None:
    """``handle`` is no lost answer's (an answer seen gave it, or no single open could have): never bound. The oldest
    dropped past :data:`MAX_KNOWN`, ``known`` forgot one."""
    known.pop(handle, None)
    known[handle] = None
    if len(known) > MAX_KNOWN:
        known.forgot = True
        dcerpc.del_oldest(known, MAX_KNOWN)


def stage(staged: dict[Any, Staged], handle: Any, file: Staged, known: Known) -> None:
    """Remember a file written on a tree not seen connected, or an open for writing on an administrative share till
    answered, under ``handle`` (a later open given it replacing it); past :data:`MAX_STAGED` the oldest is dropped:
    an open whose answer was lost bound to a handle leaves that handle known, one not bound yet leaves ``known``
    forgetting its handle (it may be written later, and bound to another such open)."""
    staged.pop(handle, None)
    staged[handle] = file
    while len(staged) > MAX_STAGED:
        old = staged.pop(next(iter(staged)))
        if old.share is None or old.created is not None or old.handle is CLOSED:
            continue  # a file on a tree not seen connected: no open whose answer was lost is bound on its tree
        if old.handle is None:
            known.forgot = True
        else:
            given(known, old.handle)
