"""Single-segment loss sweep of PsExec over SMB (issue #4): each segment of a PsExec session lost in turn, the SMB
dissector fed directly (tests/dissect/gapfeed.py: a lost segment told through ``gap`` as the engine does), and whether
detect.lateral.remote_exec is still raised.

    python bench/smbloss.py

SMB2: tests/dissect/test_smbresync.copy_then_psexec(4, 65536) (PSEXESVC.exe in 4 x 64 KiB WRITEs to ADMIN$, then
svcctl on IPC$ over IOCTL transceive); SMB1: tests/dissect/test_smb1files.psexec_session(blocks=20) (20 x 4000-byte
WRITE_ANDX, svcctl's bind over WRITE_ANDX, its calls over TransactNmPipe); both cut into 1448-byte segments. Prints
how many of the losses keep remote_exec and which segments (index, direction, SMB command) do not.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test builders

from tests.dissect import test_smb1files as s1
from tests.dissect import test_smbresync as r
from tests.dissect.gapfeed import Chunk, lose, segments

from iotwarden.detect.remote_exec import REMOTE_EXEC


def command(segment: bytes | None) -> str:
    """The SMB command a segment begins with (SMB2's 16-bit code, SMB1's byte), or '-' inside a message."""
    if segment is None or len(segment) < 18:
        return "-"
    if segment[4:8] == b"\xfeSMB":
        return f"smb2 0x{int.from_bytes(segment[16:18], 'little'):02x}"
    return f"smb1 0x{segment[8]:02x}" if segment[4:8] == b"\xffSMB" else "-"


def sweep(name: str, chunks: list[Chunk]) -> tuple[int, int]:
    kept, missed = 0, []
    for i, (to_server, segment) in enumerate(chunks):
        if any(alert[0] == REMOTE_EXEC for alert in r.alerts(r.converse(lose(chunks, i)))):
            kept += 1
        else:
            missed.append(f"{i} {'c2s' if to_server else 's2c'} {command(segment)}")
    print(f"{name}: remote_exec kept {kept}/{len(chunks)}; lost with: {', '.join(missed) or 'none'}")
    return kept, len(chunks)


def main() -> int:
    sweep("SMB2", r.copy_then_psexec(4, 65536))
    sweep("SMB1", segments(s1.psexec_session(blocks=20, size=4000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
