"""Archive extractors: zip and tar through the standard library with every member checked (path
traversal, links leaving the root, sizes), cpio through GNU cpio; all write only inside the sandbox."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import IO

from iotwarden.errors import FirmwareError
from iotwarden.firmware.extract.tools import run_tool
from iotwarden.firmware.sandbox import LimitExceeded, Sandbox, link_escapes, safe_member_name

COPY_CHUNK = 1 << 20


def _parent_ok(out: Path, rel: str) -> Path | None:
    """Create the parent folders of ``rel`` under ``out``, refusing to pass through a symlink."""
    path = out
    for part in rel.split("/")[:-1]:
        path = path / part
        if path.is_symlink():
            return None
        path.mkdir(mode=0o700, exist_ok=True)
    target = path / rel.rsplit("/", maxsplit=1)[-1]
    if target.is_symlink():
        return None
    return target


def _copy_bounded(src: IO[bytes], dst: Path, *, declared: int, packed: int, sb: Sandbox, where: str) -> None:
    limits = sb.limits
    sb.budget.check_file(declared)
    if declared > (1 << 20) and packed and declared > limits.max_ratio * packed:
        raise LimitExceeded("limit.ratio", f"{where}: member expands {declared // packed}x (limit {limits.max_ratio}x)")
    written = 0
    with dst.open("wb") as w:
        while chunk := src.read(COPY_CHUNK):
            written += len(chunk)
            if written > limits.max_file_bytes:  # the header lied about the size
                raise LimitExceeded("limit.file_bytes", f"{where}: member grows past {limits.max_file_bytes} bytes")
            sb.budget.add_bytes(len(chunk))
            w.write(chunk)
    sb.budget.add_files()


def _member_path(out: Path, name: str, sb: Sandbox, where: str) -> Path | None:
    rel = safe_member_name(name)
    if rel is None:
        sb.report("path_traversal", where, f"member {name!r} would be written outside the output folder")
        return None
    target = _parent_ok(out, rel)
    if target is None:
        sb.report("symlink_escape", where, f"member {name!r} would be written through a symlink")
    return target


def extract_zip(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """PKWARE APPNOTE zip through :mod:`zipfile`; encrypted members are reported and skipped."""
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # no central directory (truncated image): libarchive reads the local headers as a stream and
        # itself refuses absolute names, ".." and writes through symlinks
        sb.report("truncated", where, f"zip central directory unreadable ({exc}); read by bsdtar as a stream")
        run_tool(["bsdtar", "-x", "-f", str(src), "-C", str(out), "--no-same-owner"], sb, where, ok_codes=(0, 1))
        sb.sanitize(out, where)
        return
    with zf:
        for info in zf.infolist():
            target = _member_path(out, info.filename, sb, where)
            if target is None:
                continue
            if info.is_dir():
                target.mkdir(mode=0o700, exist_ok=True)
                sb.budget.add_files()
                continue
            if info.flag_bits & 0x1:  # APPNOTE §4.4.4 bit 0: encrypted
                sb.report("encrypted", f"{where}/{info.filename}", "encrypted zip member skipped")
                continue
            try:
                with zf.open(info) as member:
                    _copy_bounded(
                        member,
                        target,
                        declared=info.file_size,
                        packed=info.compress_size,
                        sb=sb,
                        where=f"{where}/{info.filename}",
                    )
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
                sb.report("truncated", f"{where}/{info.filename}", f"zip member unreadable: {exc}")


def extract_tar(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """POSIX ustar/pax/GNU tar through :mod:`tarfile`, member by member (no ``extractall``)."""
    try:
        tf = tarfile.open(src, mode="r:")  # noqa: SIM115 - closed below; compression is unpacked separately
    except (tarfile.TarError, OSError) as exc:
        raise FirmwareError(f"{where}: unreadable tar archive: {exc}") from None
    with tf:
        try:
            for member in tf:
                target = _member_path(out, member.name, sb, where)
                if target is None:
                    continue
                rel = target.relative_to(out).as_posix()
                if member.isdir():
                    target.mkdir(mode=0o700, exist_ok=True)
                    sb.budget.add_files()
                elif member.isreg():
                    fobj = tf.extractfile(member)
                    if fobj is not None:
                        _copy_bounded(
                            fobj,
                            target,
                            declared=member.size,
                            packed=member.size,
                            sb=sb,
                            where=f"{where}/{member.name}",
                        )
                        target.chmod(0o600 | (member.mode & 0o111))
                elif member.issym() or member.islnk():
                    link = member.linkname if member.issym() else "/" + member.linkname
                    if link_escapes(rel, link) or (member.islnk() and safe_member_name(member.linkname) is None):
                        sb.report(
                            "symlink_escape", f"{where}/{member.name}", f"link to {member.linkname!r} leaves the root"
                        )
                    elif member.issym():
                        target.symlink_to(member.linkname)
                        sb.budget.add_files()
                    else:
                        source = _parent_ok(out, safe_member_name(member.linkname) or "")
                        if source is not None and source.is_file():
                            shutil.copyfile(source, target)
                            sb.budget.add_files()
                else:
                    sb.report("special_file", f"{where}/{member.name}", "device node or FIFO skipped")
        except tarfile.TarError as exc:
            sb.report("truncated", where, f"tar archive ends early: {exc}")


def extract_cpio(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """cpio(5) newc/crc/odc through GNU cpio (``--no-absolute-filenames``), then sanitised."""
    with src.open("rb") as stdin:
        run_tool(
            ["cpio", "-i", "-d", "--no-absolute-filenames", "--no-preserve-owner", "--quiet"],
            sb,
            where,
            cwd=out,
            stdin=stdin,
            ok_codes=(0, 2),
        )
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink() and stat.S_ISREG(p.lstat().st_mode):
                p.chmod(0o600 | (p.lstat().st_mode & 0o111))
