"""``iotwarden firmware release|device|campaign``: signed releases, managed devices and staged OTA
campaigns with health gates, check-ins and rollback (a thin shell over firmware/ota/service.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iotwarden.cli.files import read_file
from iotwarden.cli.firmware import DbOption, firmware_app
from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota.rollout import DEFAULT_MAX_FAILURE_RATE, DEFAULT_MIN_REPORTS, DEFAULT_STAGES

if TYPE_CHECKING:
    from iotwarden.firmware.ota.service import CampaignService

release_app = typer.Typer(help="Signed firmware releases that campaigns roll out.", no_args_is_help=True)
device_app = typer.Typer(help="Devices under firmware management.", no_args_is_help=True)
campaign_app = typer.Typer(help="Staged OTA campaigns with health gates and rollback.", no_args_is_help=True)
firmware_app.add_typer(release_app, name="release")
firmware_app.add_typer(device_app, name="device")
firmware_app.add_typer(campaign_app, name="campaign")


@contextmanager
def _svc(db: str | None) -> Iterator[CampaignService]:
    """The campaign service over the store named by ``--db``; the store is closed when the block ends."""
    # the service signs and verifies manifests (cryptography): imported by the command that uses it
    from iotwarden.firmware.ota.service import CampaignService  # noqa: PLC0415
    from iotwarden.store.db import Store  # noqa: PLC0415

    with Store(db) as store:
        yield CampaignService(store)


def _show(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


@release_app.command("add")
def release_add(
    envelope: Annotated[Path, typer.Argument(help="SUIT envelope made by `firmware sign`.")],
    uri: Annotated[str, typer.Option("--uri", help="Where devices download the image.")],
    db: DbOption = None,
) -> None:
    """Register a signed release (and its image hash as a golden hash)."""
    envelope_bytes = read_file(envelope, "SUIT envelope")
    with _svc(db) as svc:
        try:
            rid = svc.add_release(envelope_bytes, uri)
        except FirmwareError as exc:
            raise FirmwareError(f"{envelope}: {exc}") from None
    typer.echo(f"release {rid}")


@device_app.command("enroll")
def device_enroll(
    device: Annotated[str, typer.Argument(help="Device key (mac:..., ip:...).")],
    model: Annotated[str, typer.Option("--model")],
    version: Annotated[str, typer.Option("--version")],
    zone: Annotated[str | None, typer.Option("--zone")] = None,
    db: DbOption = None,
) -> None:
    """Put a device under firmware management."""
    with _svc(db) as svc:
        svc.enroll(device, model, version, zone=zone)
    typer.echo(f"{device}: {model} {version}" + (f" in {zone}" if zone else ""))


@campaign_app.command("create")
def campaign_create(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    name: Annotated[str, typer.Argument()],
    release: Annotated[int, typer.Option("--release", help="Release id to roll out.")],
    from_version: Annotated[str | None, typer.Option("--from-version", help="Only devices on this version.")] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="Only devices in this zone.")] = None,
    stages: Annotated[str, typer.Option("--stages", help="Cumulative percentages.")] = ",".join(
        map(str, DEFAULT_STAGES)
    ),
    max_failure_rate: Annotated[float, typer.Option("--max-failure-rate")] = DEFAULT_MAX_FAILURE_RATE,
    min_reports: Annotated[float, typer.Option("--min-reports")] = DEFAULT_MIN_REPORTS,
    db: DbOption = None,
) -> None:
    """Create a draft campaign targeting the release's model (by version and zone)."""
    try:
        parsed = [int(s) for s in stages.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--stages {stages!r}: comma-separated integers") from None
    with _svc(db) as svc:
        created = svc.create(name, release, from_version=from_version, zone=zone, stages=parsed,
                             max_failure_rate=max_failure_rate, min_reports=min_reports)
    _show(created)


@campaign_app.command("start")
def campaign_start(name: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Start a draft campaign: its first stage is offered the update."""
    with _svc(db) as svc:
        _show(svc.start(name))


@campaign_app.command("status")
def campaign_status(name: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """State, stage, per-status counts and the current health gate."""
    with _svc(db) as svc:
        _show(svc.status(name))


@campaign_app.command("advance")
def campaign_advance(name: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Open the next stage if the current one passes its health gate (else pause or wait)."""
    with _svc(db) as svc:
        _show(svc.advance(name))


@campaign_app.command("rollback")
def campaign_rollback(
    name: Annotated[str, typer.Argument()],
    key: Annotated[Path, typer.Option("--key", help="Signing key to re-sign the previous image with.")],
    db: DbOption = None,
) -> None:
    """Stop the campaign and send its targets back to their previous image (re-signed, newer sequence)."""
    from iotwarden.firmware.signing import keys  # noqa: PLC0415 - cryptography: see _svc

    private = keys.load_private(key)
    with _svc(db) as svc:
        _show(svc.rollback(name, private))


@campaign_app.command("checkin")
def campaign_checkin(  # noqa: PLR0917 - typer maps each parameter to a CLI option
    device: Annotated[str, typer.Argument()],
    event: Annotated[str, typer.Argument(help="downloaded | installed | failed | healthy | reverted")],
    sha256: Annotated[str | None, typer.Option("--sha256", help="Hash of the image the device runs.")] = None,
    version: Annotated[str | None, typer.Option("--version")] = None,
    sequence: Annotated[int | None, typer.Option("--sequence")] = None,
    detail: Annotated[str, typer.Option("--detail")] = "",
    db: DbOption = None,
) -> None:
    """Record a device check-in (the reported hash is checked against the golden hashes)."""
    with _svc(db) as svc:
        _show(svc.checkin(device, event, sha256=sha256, version=version, sequence=sequence, detail=detail))
