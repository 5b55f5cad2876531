"""``iotwarden firmware`` and ``iotwarden vulndb``: analyse a firmware image (components, SBOM,
vulnerabilities) and keep the local vulnerability database (a thin shell over firmware/ and the store)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.files import check_output, write_file
from iotwarden.cli.main import app, print_error
from iotwarden.cli.progress import activity, bar
from iotwarden.errors import FirmwareError

if TYPE_CHECKING:
    from iotwarden.store.firmware_models import SqlVulnRepository

firmware_app = typer.Typer(
    help="Analyse firmware images (contents, components, SBOM, vulnerabilities, hardening), sign and verify them, "
    "and roll updates out in OTA campaigns.",
    no_args_is_help=True,
)
vulndb_app = typer.Typer(help="Import and inspect the local vulnerability database.", no_args_is_help=True)
app.add_typer(firmware_app, name="firmware")
app.add_typer(vulndb_app, name="vulndb")
console = Console()

DbOption = Annotated[
    str | None, typer.Option("--db", help="Database URL or SQLite path (default $IOTWARDEN_DB or ./iotwarden.db).")
]


class SbomFormat(StrEnum):
    cyclonedx = "cyclonedx"
    spdx = "spdx"


class OutFormat(StrEnum):
    table = "table"
    json = "json"


@contextmanager
def _repo(db: str | None) -> Iterator[SqlVulnRepository]:
    """The vulnerability database of the store named by ``--db``; the store is closed when the block ends (SQLite
    then folds its write-ahead log into the database file)."""
    from iotwarden.store.db import Store  # noqa: PLC0415
    from iotwarden.store.firmware_models import SqlVulnRepository  # noqa: PLC0415

    with Store(db) as store:
        yield SqlVulnRepository(store)


@firmware_app.command("analyze")
def analyze(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    image: Annotated[Path, typer.Argument(help="Firmware image file.")],
    sbom: Annotated[SbomFormat | None, typer.Option("--sbom", help="Also write an SBOM in this format.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="SBOM file (default: stdout).")] = None,
    fmt: Annotated[OutFormat, typer.Option("--format", help="Report format.")] = OutFormat.table,
    db: DbOption = None,
    no_vulns: Annotated[bool, typer.Option("--no-vulns", help="Do not match vulnerabilities.")] = False,
) -> None:
    """Unpack IMAGE in a sandbox, list its components and their vulnerabilities."""
    # imported here, not at the top: unblob, CycloneDX's schema validation and their dependencies take ~2 s
    # to import, and every `iotwarden --help` imports this module
    from iotwarden.firmware.analyze import analyze_image  # noqa: PLC0415
    from iotwarden.firmware.sbom import cyclonedx_json, spdx_json  # noqa: PLC0415

    check_output(output)
    quiet = fmt is OutFormat.json or (sbom is not None and output is None)
    with nullcontext() if no_vulns else _repo(db) as repo, activity(f"analysing {image.name}", quiet=quiet):
        report = analyze_image(image, repo)
    if sbom is not None:
        text = (cyclonedx_json if sbom is SbomFormat.cyclonedx else spdx_json)(report.image, report.components)
        if output is None:
            typer.echo(text)
            return
        write_file(output, text)
    if fmt is OutFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(
        f"[bold]{report.image.name}[/] sha256 {report.image.sha256}  {report.image.size} bytes, "
        f"{len(report.containers)} containers, {report.files} files"
    )
    comps = Table("component", "version", "cpe", "evidence", title="Components")
    for c in report.components:
        ev = c.evidence[0]
        comps.add_row(c.name, c.version or "?", c.cpe, f"{ev.path} @{ev.offset}: {ev.string}")
    console.print(comps)
    vulns = Table("rank", "id", "component", "cvss", "kev", "sources", "hints", title="Vulnerabilities")
    for v in report.vulnerabilities:
        vulns.add_row(
            f"{v.rank:.1f}",
            v.vuln_id,
            v.component,
            "" if v.cvss is None else f"{v.cvss}",
            "KEV" if v.kev else "",
            ",".join(v.sources),
            ",".join(v.hints),
        )
    console.print(vulns)
    hard = Table("severity", "id", "title", "where", title="Hardening")
    for f in report.findings:
        paths = f.evidence.get("paths", [])
        more = f" (+{f.evidence['count'] - len(paths)})" if f.evidence.get("count", 0) > len(paths) else ""
        hard.add_row(f.severity, f.id, f.title, ", ".join(paths[:3]) + more)
    console.print(hard)
    for inc in report.incidents:
        console.print(f"[yellow]{inc['kind']}[/] {inc['where']}: {inc['detail']}")
    for err in report.errors:
        console.print(f"[red]error[/] {err}")


def feed_files(paths: list[Path]) -> list[tuple[Path, bool]]:
    """The files to import: each path named, and every ``*.json``/``*.json.gz`` under a folder named
    (sorted); the flag says whether the file was named itself (then a file that is no feed is an error)."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))
            out.extend((p, False) for p in found)
        else:
            out.append((path, True))
    return out


@vulndb_app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(help="NVD 2.0, CVE 5, OSV, Alpine secdb or CISA KEV JSON files (.json or .json.gz), or "
                       "folders of them."),
    ],
    db: DbOption = None,
) -> None:
    """Import feed files into the local database (a record imported again replaces the old one).

    Every file is tried: one that cannot be read is reported on its own line and the rest still go in
    (exit 2 if a file named on the command line failed; JSON files in a folder that are not feeds are
    only listed as skipped)."""
    for path in paths:
        if path.is_dir() and not feed_files([path]):
            raise FirmwareError(f"{path}: no feed files (*.json, *.json.gz) in this folder")
    from iotwarden.firmware.vulndb.importers import load_feed  # noqa: PLC0415 - see analyze

    failed = 0
    files = feed_files(paths)
    with _repo(db) as repo, bar("importing feeds") as progress:
        task = progress.add_task("import", total=len(files))
        for path, named in files:
            try:
                feed = load_feed(path)
            except FirmwareError as exc:
                if named:
                    failed += 1
                    print_error(str(exc))
                else:
                    typer.echo(f"{path}: skipped: {str(exc).removeprefix(f'{path}: ')}")
                progress.advance(task)
                continue
            repo.put(feed.vulns, feed.ranges)
            repo.put_kev(feed.kev)
            progress.advance(task)
            typer.echo(
                f"{path}: {feed.kind}: {len(feed.vulns)} vulnerabilities, {len(feed.ranges)} ranges, "
                f"{len(feed.kev)} KEV entries, {feed.skipped} unreadable records skipped"
            )
    if failed:
        raise SystemExit(2)


@vulndb_app.command("stats")
def stats(db: DbOption = None) -> None:
    """Counts of what the local database holds."""
    with _repo(db) as repo:
        counts = repo.stats()
    for key, value in sorted(counts.items()):
        typer.echo(f"{key}\t{value}")


# the signing and OTA command groups hang off ``firmware_app``: importing them registers them
from iotwarden.cli import firmware_ota, firmware_sign  # noqa: E402, F401
