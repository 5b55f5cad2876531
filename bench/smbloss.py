"""Single-segment loss sweep of PsExec over SMB (issue #4): each segment of a PsExec session lost in turn, the SMB
dissector fed directly (tests/dissect/gapfeed.py: a lost segment told through ``gap`` as the engine does), and whether
detect.lateral.remote_exec is still raised.

    python bench/smbloss.py

SMB2: tests/dissect/test_smbresync.copy_then_psexec(4, 65536) (PSEXESVC.exe in 4 x 64 KiB WRITEs to ADMIN$, then
svcctl on IPC$ over IOCTL transceive); SMB1: tests/dissect/test_smb1files.psexec_session(blocks=20) (20 x 4000-byte
WRITE_ANDX, svcctl's bind over WRITE_ANDX, its calls over TransactNmPipe); both cut into 1448-byte segments. Prints
how many of the losses keep remote_exec and which segments (index, direction, SMB command) do not, then per class of
lost segment (direction and SMB command, ``-`` inside a message) how many keep remote_exec and how many
detect.lateral.admin_share_exec (the binary's ``file_write``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test builders

from tests.dissect import test_smb1files as s1
from tests.dissect import test_smbresync as r
from tests.dissect.gapfeed import Chunk, lose, segments

from iotwarden.detect.remote_exec import REMOTE_EXEC, STAGING


def command(segment: bytes | None) -> str:
    """The SMB command a segment begins with (SMB2's 16-bit code, SMB1's byte), or '-' inside a message."""
    if segment is None or len(segment) < 18:
        return "-"
    if segment[4:8] == b"\xfeSMB":
        return f"smb2 0x{int.from_bytes(segment[16:18], 'little'):02x}"
    return f"smb1 0x{segment[8]:02x}" if segment[4:8] == b"\xffSMB" else "-"


def sweep(name: str, chunks: list[Chunk]) -> tuple[int, int]:
    kept, missed = 0, []
    classes: dict[str, list[int]] = {}  # class -> [segments, remote_exec kept, admin_share_exec kept]
    for i, (to_server, segment) in enumerate(chunks):
        ids = {alert[0] for alert in r.alerts(r.converse(lose(chunks, i)))}
        where = f"{'c2s' if to_server else 's2c'} {command(segment)}"
        counts = classes.setdefault(where, [0, 0, 0])
        counts[0] += 1
        counts[1] += REMOTE_EXEC in ids
        counts[2] += STAGING in ids
        if REMOTE_EXEC in ids:
            kept += 1
        else:
            missed.append(f"{i} {where}")
    print(f"{name}: remote_exec kept {kept}/{len(chunks)}; lost with: {', '.join(missed) or 'none'}")
    for where, (count, executed, staged) in sorted(classes.items()):
        print(f"  {where:<14} lost {count:>3}: remote_exec {executed:>3}, admin_share_exec {staged:>3}")
    return kept, len(chunks)


def main() -> int:
    sweep("SMB2", r.copy_then_psexec(4, 65536))
    sweep("SMB1", segments(s1.psexec_session(blocks=20, size=4000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
