"""``iotwarden policy``: propose, validate, test (what-if), diff, render and apply segmentation policies,
and the stored versions (load, versions, show)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from iotwarden import inputfile
from iotwarden.cli.analyze import DB_OPTION, open_store, ts_text
from iotwarden.cli.files import check_output, write_file
from iotwarden.cli.main import app
from iotwarden.cli.progress import activity
from iotwarden.errors import PolicyError, describe
from iotwarden.policy import nftables
from iotwarden.policy.diff import diff
from iotwarden.policy.match import resolve
from iotwarden.policy.model import MAX_POLICY_BYTES, Policy, check_name, dump_text, load_text
from iotwarden.policy.names import NameMap
from iotwarden.policy.propose import propose
from iotwarden.policy.simulate import render_text, simulate

if TYPE_CHECKING:
    from iotwarden.policy.observed import Observed

policy_app = typer.Typer(help="Segmentation policies: propose from traffic, test, diff, render to nftables, apply.",
                         no_args_is_help=True)
app.add_typer(policy_app, name="policy")

CAPTURES = typer.Argument(None, help="Captures to replay (instead of --db).")
JSON_OPTION = typer.Option(False, "--json", help="Print the report as JSON.")
POLICY_ARG = typer.Argument(..., help="Policy file (YAML).")
OLD_ARG = typer.Argument(..., help="Current policy.")
NEW_ARG = typer.Argument(..., help="Changed policy.")
PROPOSE_OUT = typer.Option(..., "-o", "--output", help="Write the proposed policy (YAML) here.")
RENDER_OUT = typer.Option(..., "-o", "--output", help="Write the nftables ruleset here.")
NAME_OPTION = typer.Option("proposed", "--name", help="Name of the policy.")
SAVE_OPTION = typer.Option(False, "--save", help="Also store it as a new version (needs --db).")
NETNS_OPTION = typer.Option(None, "--netns", help="Load into this network namespace.")
YES_OPTION = typer.Option(False, "--yes", help="Load into this host's own namespace.")
DNS_OPTION = typer.Option([], "--dns", help="Captures whose DNS answers resolve the domain destinations "
                          "(repeatable; the store keeps no DNS answers).")
STORED_ARG = typer.Argument(..., help="Name of a stored policy.")
VERSION_OPTION = typer.Option(None, "--version", help="Version to show (default: the latest).")
LOAD_NAME_OPTION = typer.Option(None, "--name", help="Store under this name (default: the policy's own).")
COMMENT_OPTION = typer.Option("", "--comment", help="Why this version (kept with it).")


def read_policy(path: Path) -> Policy:
    try:
        text = inputfile.read_text(path, MAX_POLICY_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read: {describe(exc)}") from exc
    try:
        return load_text(text)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from exc


def _warn_unresolved(policy: Policy, seen: Observed, captures: list[Path] | None) -> None:
    if not captures and any(r.domains for r in policy.rules):
        typer.echo("note: domain destinations match nothing on stored flows (the store keeps no DNS answers); "
                   "replay captures to judge them", err=True)


def _resolved(policy: Policy, dns: list[Path]) -> dict[str, list[str]]:
    """Domain -> addresses from the DNS answers in ``dns`` captures (empty without them)."""
    from iotwarden.policy.observed import from_captures  # noqa: PLC0415 - see _observed

    names = from_captures(dns).names if dns else NameMap()
    return names.for_policy(policy)


def _observed(captures: list[Path] | None, db: str | None, *, quiet: bool = False) -> Observed:
    # the inventory's analyzers and the store (SQLAlchemy): when a command reads traffic, not for --help
    from iotwarden.policy.observed import from_captures, from_store  # noqa: PLC0415

    if captures:
        with activity(f"reading {len(captures)} capture(s)", quiet=quiet):
            return from_captures(captures)
    with open_store(db) as store:
        return from_store(store)


@policy_app.command("propose")
def propose_cmd(out: Path = PROPOSE_OUT, captures: list[Path] | None = CAPTURES, db: str | None = DB_OPTION,
                name: str = NAME_OPTION, save: bool = SAVE_OPTION) -> None:
    """Derive zones and least-privilege rules from the inventory and observed flows."""
    check_output(out)
    check_name(name, "--name")
    seen = _observed(captures, db)
    policy = propose(seen.devices, seen.flows, name=name)
    write_file(out, dump_text(policy))
    typer.echo(f"{out}: {len(policy.zones)} zones, {len(policy.rules)} rules from {len(seen.flows)} flows")
    if save:
        from iotwarden.policy import storage  # noqa: PLC0415 - the store's tables: not for --help

        with open_store(db) as store:
            typer.echo(f"stored as {policy.name} version {storage.save(store, policy, 'proposed')}")


@policy_app.command("validate")
def validate_cmd(path: Path = POLICY_ARG) -> None:
    """Check a policy file; errors name the path of the bad key."""
    policy = read_policy(path)
    typer.echo(f"{path}: valid, {len(policy.zones)} zones, {len(policy.rules)} rules")


@policy_app.command("test")
def test_cmd(path: Path = POLICY_ARG, captures: list[Path] | None = CAPTURES,
             db: str | None = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Replay observed flows against a policy: what would be blocked, per device and per service."""
    policy = read_policy(path)
    seen = _observed(captures, db, quiet=as_json)
    _warn_unresolved(policy, seen, captures)
    report = simulate(policy, seen.devices, seen.flows, seen.names.as_mapping())
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else "\n".join(render_text(report)))


@policy_app.command("diff")
def diff_cmd(old: Path = OLD_ARG, new: Path = NEW_ARG,
             captures: list[Path] | None = CAPTURES, db: str | None = DB_OPTION) -> None:
    """What changing OLD to NEW would break (newly blocked) or open (newly allowed) on observed flows."""
    seen = _observed(captures, db)
    before, after = read_policy(old), read_policy(new)
    _warn_unresolved(after, seen, captures)
    typer.echo(json.dumps(diff(before, after, seen.devices, seen.flows, seen.names.as_mapping()).to_dict(), indent=2))


@policy_app.command("render")
def render_cmd(path: Path = POLICY_ARG,
               out: Path = RENDER_OUT,
               db: str | None = DB_OPTION, dns: list[Path] = DNS_OPTION) -> None:
    """Render the policy as an nftables ruleset (zone members resolved from the stored inventory, domain
    destinations from the DNS answers of --dns captures: render again when the names move)."""
    policy = read_policy(path)
    check_output(out)
    from iotwarden.policy.observed import stored_devices  # noqa: PLC0415 - see _observed

    with open_store(db) as store:
        devices = stored_devices(store)
    write_file(out, nftables.render(policy, resolve(policy, devices), _resolved(policy, dns)))
    typer.echo(f"{out}: nftables table inet {nftables.TABLE}")


@policy_app.command("apply")
def apply_cmd(path: Path = POLICY_ARG,
              netns: str | None = NETNS_OPTION, yes: bool = YES_OPTION,
              db: str | None = DB_OPTION, dns: list[Path] = DNS_OPTION) -> None:
    """Render and load the policy with nft -f (refuses without --netns or --yes)."""
    if netns is None and not yes:
        raise PolicyError("policy apply: give --netns NS, or --yes to change this host's own firewall")
    policy = read_policy(path)
    from iotwarden.policy.observed import stored_devices  # noqa: PLC0415 - see _observed

    with open_store(db) as store:
        devices = stored_devices(store)
    nftables.apply(nftables.render(policy, resolve(policy, devices), _resolved(policy, dns)), netns=netns,
                   confirm=yes)
    typer.echo(f"loaded {policy.name} into {'netns ' + netns if netns else 'this host'}")


@policy_app.command("load")
def load_cmd(path: Path = POLICY_ARG, name: str | None = LOAD_NAME_OPTION, comment: str = COMMENT_OPTION,
             db: str | None = DB_OPTION) -> None:
    """Store a policy file as the next version of its name (or of --name)."""
    from iotwarden.policy import storage  # noqa: PLC0415 - the store's tables: not for --help

    policy = read_policy(path)
    if name is not None:
        policy = Policy.from_dict({**policy.to_dict(), "name": name})  # validates the name like the file's
    with open_store(db) as store:
        version = storage.save(store, policy, comment or f"loaded from {path.name}")
    typer.echo(f"stored {policy.name} version {version}")


@policy_app.command("versions")
def versions_cmd(name: str = STORED_ARG, db: str | None = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The stored versions of a policy, oldest first."""
    from iotwarden.policy import storage  # noqa: PLC0415 - the store's tables: not for --help

    with open_store(db) as store:
        found = storage.versions(store, name)
    if not found:
        raise PolicyError(f"no stored policy {name!r}")
    if as_json:
        typer.echo(json.dumps({"name": name, "versions": found}, indent=2))
        return
    for v in found:
        typer.echo(f"{v['version']:>5}  {ts_text(float(v['created_at']))}  {v['comment']}")  # type: ignore[arg-type]


@policy_app.command("show")
def show_cmd(name: str = STORED_ARG, version: int | None = VERSION_OPTION, db: str | None = DB_OPTION) -> None:
    """Print a stored version of a policy as YAML (the latest unless --version)."""
    from iotwarden.policy import storage  # noqa: PLC0415 - the store's tables: not for --help

    with open_store(db) as store:
        typer.echo(dump_text(storage.load(store, name, version)), nl=False)
