"""``iotwarden mud``: generate, validate, check and fetch MUD profiles (RFC 8520); a thin shell over
:mod:`iotwarden.policy.mud`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden import inputfile
from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, Format, emit, open_store
from iotwarden.cli.files import check_output, write_file
from iotwarden.cli.main import app
from iotwarden.cli.progress import activity
from iotwarden.errors import PolicyError, describe
from iotwarden.model import Flow
from iotwarden.policy.mud.check import Checker, check_flows
from iotwarden.policy.mud.fetch import FetchOptions, fetch
from iotwarden.policy.mud.generate import generate
from iotwarden.policy.mud.model import MudProfile
from iotwarden.policy.mud.traffic import DnsTable, Traffic, read_traffic
from iotwarden.policy.mud.validate import MAX_PROFILE_BYTES, problems, validate

mud_app = typer.Typer(help="MUD profiles (RFC 8520): generate, validate, check traffic, fetch.", no_args_is_help=True)
app.add_typer(mud_app, name="mud")

MAX_STORED_FLOWS = 200_000  # flows read from the store to generate one device's profile
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(inputfile.read_bytes(path, MAX_PROFILE_BYTES))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {describe(exc)}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError; nesting too deep
        raise PolicyError(f"{path}: not JSON: {describe(exc)}") from None


def read_profile(path: Path) -> MudProfile:
    return validate(_read_json(path), source=str(path))


def _traffic(capture: Path, *, quiet: bool = False) -> Traffic:
    with activity(f"reading {capture.name}", quiet=quiet):
        return read_traffic(capture)


def _ident(device: str, param: str = "--device") -> tuple[str | None, list[str]]:
    """(MAC, IPs) from a MAC, an IP or a device key (mac:.., ip:..); anything else is refused, since it
    would match no flow and the check would report nothing."""
    value = device.split(":", 1)[1] if device.startswith(("mac:", "ip:")) else device
    if _MAC.match(value):
        return value.lower(), []
    try:
        return None, [str(ipaddress.ip_address(value))]
    except ValueError:
        raise typer.BadParameter(f"not a MAC (aa:bb:cc:dd:ee:ff) or an IP address: {device!r}",
                                 param_hint=param) from None


def _write(profile: MudProfile, out: Path | None) -> None:
    text = json.dumps(profile.to_dict(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_file(out, text)


@mud_app.command("generate")
def generate_command(
    device: Annotated[str, typer.Argument(help="Device key, MAC or IP.")],
    db: str | None = DB_OPTION,
    capture: Annotated[Path | None, typer.Option("--capture", help="Read this capture instead of the store "
                                                 "(DNS answers in it name the peers).")] = None,
    mud_url: Annotated[str | None, typer.Option("--mud-url", help="The profile's mud-url (https).")] = None,
    out: Annotated[Path | None, typer.Option("-o", "--output", help="Write the profile here.")] = None,
) -> None:
    """Build a MUD profile from the device's observed flows (stored, or in --capture)."""
    check_output(out)
    mfg = model = None
    if capture is not None:
        mac, ips = _ident(device, "DEVICE")  # before the capture is read
        traffic = _traffic(capture, quiet=out is None)
        flows, dns, name = traffic.flows, traffic.dns, device
    else:
        from iotwarden.services.inventory import show_device  # noqa: PLC0415 - store only when used

        with open_store(db) as store:
            shown = show_device(store, device, flow_limit=MAX_STORED_FLOWS)
        mac, ips, name = shown["mac"], [*shown["ips"], *(h["ip"] for h in shown["ip_history"])], shown["key"]
        flows = [Flow.from_dict({k: v for k, v in f.items() if k != "capture_id"}) for f in shown["flows"]]
        dns = DnsTable()  # the store keeps no DNS answers: peers are named by address
        classes = shown.get("classification") or {}
        mfg = (classes.get("vendor") or {}).get("value")
        model = (classes.get("model") or {}).get("value")
    profile = generate(flows, name=name, mac=mac, ips=ips, dns=dns, mud_url=mud_url, mfg_name=mfg, model_name=model)
    validate(profile.to_dict(), source="generated profile")
    _write(profile, out)


@mud_app.command("validate")
def validate_command(file: Annotated[Path, typer.Argument(help="MUD file (JSON).")]) -> None:
    """Check a MUD file against RFC 8520's structure; errors exit 2 naming each JSON path."""
    data = _read_json(file)
    for problem in problems(data):
        if problem.severity == "warning":
            typer.echo(f"warning: {problem.path}: {problem.message}", err=True)
    profile = validate(data, source=str(file))
    aces = sum(len(a.aces) for a in profile.acls)
    typer.echo(f"{file}: valid MUD file for {profile.mud_url} ({len(profile.acls)} ACLs, {aces} ACEs)")


def _render(console: Console, data: dict[str, Any]) -> None:
    table = Table(title=f"MUD violations ({data['violating']} of {data['flows']} flows)", title_justify="left")
    for col in ("first seen", "direction", "src", "dst", "proto", "decided by"):
        table.add_column(col)
    for v in data["violations"]:
        table.add_row(f"{v['first_seen']:.3f}", v["direction"], f"{v['src']}:{v['sport']}",
                      f"{v['dst']}:{v['dport']}", str(v["proto"]), f"{v['acl'] or ''} {v['ace']}".strip())
    console.print(table)


@mud_app.command("check")
def check_command(
    profile_path: Annotated[Path, typer.Argument(metavar="PROFILE", help="MUD file (JSON).")],
    capture: Annotated[Path, typer.Argument(help="Capture file (pcap, pcapng).")],
    device: Annotated[str | None, typer.Option("--device", "-d", help="The device's MAC or IP (default: the "
                                               "device that announced the profile's MUD URL).")] = None,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """List the device's flows its profile does not permit; exit 1 when there are any."""
    profile = read_profile(profile_path)
    named = _ident(device) if device is not None else None  # before the capture is read
    traffic = _traffic(capture, quiet=fmt is Format.json)
    if device is None:
        device = next((i for i, url in traffic.announced.items() if url == profile.mud_url), None)
        if device is None:
            raise PolicyError(f"no device in {capture} announced {profile.mud_url}: name it with --device")
    mac, ips = named or _ident(device)
    result = check_flows(Checker(profile, mac=mac, ips=ips, dns=traffic.dns), traffic.flows)
    data = {"schema": "iotwarden.mud-check/1", "profile": profile.mud_url, "device": device, **result.to_dict()}
    emit(fmt, data, lambda c: _render(c, data), None)
    if result.violating:
        raise typer.Exit(1)


@mud_app.command("fetch")
def fetch_command(
    url: Annotated[str, typer.Argument(help="The MUD URL (https).")],
    cache: Annotated[Path, typer.Option("--cache", help="MUD cache directory.")],
    ca: Annotated[Path | None, typer.Option("--ca", help="CA file trusted for the server (default: system).")] = None,
    signer_ca: Annotated[Path | None, typer.Option("--signer-ca", help="CA file trusted for signatures.")] = None,
    require_signature: Annotated[bool, typer.Option("--require-signature", help="Refuse unsigned files.")] = False,
) -> None:
    """Fetch a MUD file into the cache (validated, signature checked when published)."""
    opts = FetchOptions(cache_dir=cache, enabled=True, cafile=str(ca) if ca else None,
                        signer_cafile=str(signer_ca) if signer_ca else None, require_signature=require_signature)
    got = fetch(url, opts)
    how = "from the cache" if got.from_cache else "fetched"
    typer.echo(f"{url}: {how}, {'signature verified' if got.signed else 'unsigned'}, "
               f"valid for {got.profile.validity_hours} h")
