"""Archive extractors: zip and tar through the standard library with every member checked (path
traversal, links leaving the root, sizes), cpio and unreadable zips through libarchive's bsdtar
(listed and sized first; it refuses ``..``, absolute names and writes through symlinks, and what it
refused is reported); all write only inside the sandbox. A path named twice keeps its first member: a later
member on a taken path, of any type, is reported (``path_conflict``) and skipped; a folder named again merges.

GNU cpio is not used: it follows a symlink an archive planted earlier and writes through it, out of
the output folder, whatever ``--no-absolute-filenames`` says."""

from __future__ import annotations

import errno
import os
import re
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
# bsdtar -tv line (ls -l style): "-rw-r--r--  1 0      0        6 Jan  1  1970 up/pwned"; devices
# show "major,minor" where regular files show their size; after the date ("Jan  1  1970" or "Dec  8 00:48") the
# name, a symlink's followed by " -> target", a hard link's by " link to target"
_BSDTAR_LIST = re.compile(rb"^(\S{10})\s+\d+\s+\S+\s+\S+\s+(\d+)(?:,\d+)?\s")
_BSDTAR_NAME = re.compile(rb"^(\S)\S{9}\s+\d+\s+\S+\s+\S+\s+\d+(?:,\d+)?\s+"  # mode's type, ..., size
                          rb"\S+\s+\d+\s+\S+ (.*?)(?: -> .*| link to .*)?$")  # date, name
# what bsdtar (libarchive archive_write_disk, ARCHIVE_EXTRACT_SECURE_*) says when it refuses an entry
_BSDTAR_REFUSALS = (
    (b"Cannot extract through symlink", "symlink_escape"),
    (b"Path contains '..'", "path_traversal"),
    (b"Path is absolute", "path_traversal"),
)


# a member whose path another member already took (a second file or link of the same name, a file where a folder
# is, a folder or a file under a file, a hard link to itself): an archive may name a path twice (tar -r appends, a
# zip may hold a name twice), and the image is untrusted; whatever the two types, the first member stays and the
# later one is reported and skipped (bsdtar -k does the same), never an overwrite nor an error for the whole image.
# A folder named again (a tar lists a folder after its files) is no conflict: the two merge.
PATH_TAKEN = (FileExistsError, IsADirectoryError, NotADirectoryError, shutil.SameFileError)


def _path_taken(sb: Sandbox, where: str, name: str, exc: OSError) -> None:
    sb.report("path_conflict", f"{where}/{name}", f"member skipped, its path is taken: {exc.strerror or exc}")


def _parents_made(out: Path, rel: str) -> bool:
    """Create the parent folders of ``rel`` under ``out``; False when one is a symlink (never passed through)."""
    path = out
    for part in rel.split("/")[:-1]:
        path = path / part
        if path.is_symlink():
            return False
        path.mkdir(mode=0o700, exist_ok=True)
    return True


def _parent_ok(out: Path, rel: str) -> Path | None:
    """Create the parent folders of ``rel`` under ``out``: its path there, None when it or a parent is a symlink."""
    if not _parents_made(out, rel) or (out / rel).is_symlink():
        return None
    return out / rel


def _copy_bounded(src: IO[bytes], dst: Path, *, declared: int, packed: int, sb: Sandbox, where: str) -> None:
    limits = sb.limits
    sb.budget.check_file(declared)
    if declared > (1 << 20) and packed and declared > limits.max_ratio * packed:
        raise LimitExceeded("limit.ratio", f"{where}: member expands {declared // packed}x (limit {limits.max_ratio}x)")
    written = 0
    with dst.open("xb") as w:  # never through or over what another member wrote (_member_path checked)
        while chunk := src.read(COPY_CHUNK):
            written += len(chunk)
            if written > limits.max_file_bytes:  # the header lied about the size
                raise LimitExceeded("limit.file_bytes", f"{where}: member grows past {limits.max_file_bytes} bytes")
            sb.budget.add_bytes(len(chunk))
            w.write(chunk)
    sb.budget.add_files()


def _member_path(out: Path, name: str, sb: Sandbox, where: str, *, folder: bool) -> Path | None:
    """Where member ``name`` goes under ``out`` (its parent folders made), None when reported (it would land outside
    ``out`` or pass through a symlink); FileExistsError when an earlier member took the path (PATH_TAKEN), unless
    both are folders."""
    rel = safe_member_name(name)
    if rel is None:
        sb.report("path_traversal", where, f"member {name!r} would be written outside the output folder")
        return None
    if not _parents_made(out, rel):
        sb.report("symlink_escape", where, f"member {name!r} would be written through a symlink")
        return None
    target = out / rel
    if os.path.lexists(target) and not (folder and target.is_dir() and not target.is_symlink()):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), rel)
    return target


def extract_zip(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """PKWARE APPNOTE zip through :mod:`zipfile`; encrypted members are reported and skipped."""
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # no central directory (truncated image): libarchive reads the local headers as a stream and
        # itself refuses absolute names, ".." and writes through symlinks
        sb.report("truncated", where, f"zip central directory unreadable ({exc}); read by bsdtar as a stream")
        extract_with_bsdtar(src, out, sb, where)
        sb.sanitize(out, where)
        return
    with zf:
        for info in zf.infolist():
            try:
                target = _member_path(out, info.filename, sb, where, folder=info.is_dir())
                if target is not None and info.is_dir():
                    target.mkdir(mode=0o700, exist_ok=True)
                    sb.budget.add_files()
                    continue
            except PATH_TAKEN as exc:
                _path_taken(sb, where, info.filename, exc)
                continue
            if target is None:
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
            except PATH_TAKEN as exc:
                _path_taken(sb, where, info.filename, exc)
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
                try:
                    _tar_member(tf, member, out, sb, where)
                except PATH_TAKEN as exc:
                    _path_taken(sb, where, member.name, exc)
        except tarfile.TarError as exc:
            sb.report("truncated", where, f"tar archive ends early: {exc}")


def _tar_member(tf: tarfile.TarFile, member: tarfile.TarInfo, out: Path, sb: Sandbox, where: str) -> None:
    target = _member_path(out, member.name, sb, where, folder=member.isdir())
    if target is None:
        return
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
            sb.report("symlink_escape", f"{where}/{member.name}", f"link to {member.linkname!r} leaves the root")
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


def extract_cpio(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """cpio(5) newc/crc/odc through bsdtar (see :func:`extract_with_bsdtar`)."""
    extract_with_bsdtar(src, out, sb, where)
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink() and stat.S_ISREG(p.lstat().st_mode):
                p.chmod(0o600 | (p.lstat().st_mode & 0o111))


def extract_with_bsdtar(src: Path, out: Path, sb: Sandbox, where: str) -> None:
    """List ``src`` with ``bsdtar -tv`` (entry count and sizes against the limits, so a bomb is refused
    before any write), extract it with libarchive's default safety checks, and report each entry it
    refused (path traversal, write through a symlink). The driver sanitises what was written."""
    listing = run_tool(["bsdtar", "-t", "-v", "-f", str(src)], sb, where, ok_codes=(0, 1)).stdout
    matches = (_BSDTAR_LIST.match(line) for line in listing.splitlines())
    sb.admit_listing([(m.group(1), int(m.group(2))) for m in matches if m], where)
    _report_taken(listing, sb, where)
    # -k (keep old files): a path named twice keeps its first entry, as the tar and zip extractors do (PATH_TAKEN)
    proc = run_tool(["bsdtar", "-x", "-k", "-f", str(src), "-C", str(out), "--no-same-owner"], sb, where,
                    ok_codes=(0, 1))
    for line in proc.stderr.splitlines():
        for said, kind in _BSDTAR_REFUSALS:
            if said in line:
                member = line.split(b": ", 1)[0].decode("utf-8", "replace")
                sb.report(kind, f"{where}/{member}", f"bsdtar refused: {line.decode('utf-8', 'replace').strip()}")


def _report_taken(listing: bytes, sb: Sandbox, where: str) -> None:
    """Report each entry of a ``bsdtar -tv`` listing whose path (or a parent folder's) an earlier entry took as
    another file, link or folder (PATH_TAKEN): ``bsdtar -k`` keeps the first and skips it without a word. One
    exception, libarchive's: a symlink named first is replaced by the later entry (it unlinks a symlink in the
    last place of a path rather than write through it); that is reported as such."""
    folders: dict[str, bool] = {}  # path -> whether its first entry is a folder
    links: set[str] = set()  # paths whose first entry is a symlink
    for line in listing.splitlines():
        m = _BSDTAR_NAME.match(line)
        rel = safe_member_name(m.group(2).decode("utf-8", "replace")) if m else None
        if m is None or rel is None:
            continue  # unparsed, or refused by bsdtar itself (reported from its stderr)
        folder = m.group(1) == b"d"
        parts = rel.split("/")
        parents = ("/".join(parts[:i]) for i in range(1, len(parts)))
        # under a file named earlier (under a symlink is bsdtar's own refusal: symlink_escape)
        taken = next((parent for parent in parents if folders.get(parent) is False and parent not in links), None)
        if taken is None and rel in folders and not (folder and folders[rel]):
            taken = rel
        if taken is not None:
            replaced = taken == rel and rel in links
            said = "replaces the earlier symlink" if replaced else "member skipped, its path is taken"
            sb.report("path_conflict", f"{where}/{rel}", f"{said}: {taken!r} came first")
            continue
        folders.setdefault(rel, folder)
        if m.group(1) == b"l":
            links.add(rel)
