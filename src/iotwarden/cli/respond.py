"""``iotwarden playbooks validate|list|run``, ``iotwarden cases list|show|note|close|reopen`` and
``iotwarden actions list|undo``: a thin shell over :mod:`iotwarden.respond`.
"""

from __future__ import annotations

import getpass
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store, ts_text
from iotwarden.cli.identity import CA_DIR_OPTION, PASS_ENV_OPTION, _passphrase
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError, PolicyError
from iotwarden.respond.phases import PHASES

# the response modules import the store's tables (SQLAlchemy, ~0.25 s CPU), the playbooks the taxonomy and the
# quarantine the policy model: each command imports what it runs, so that --help imports none of them
if TYPE_CHECKING:
    from iotwarden.identity.ca import DeviceCA
    from iotwarden.respond.actions import ActionRecord
    from iotwarden.respond.playbook import Playbook
    from iotwarden.respond.policy_enforcer import PolicyEnforcer
    from iotwarden.respond.quarantine import QuarantineEnforcer
    from iotwarden.store import Store

playbooks_app = typer.Typer(help="Response playbooks: validate, list, run on new alerts.")
cases_app = typer.Typer(help="Incident cases and their timeline (NIST SP 800-61 phases).")
actions_app = typer.Typer(help="The log of response actions; undo the reversible ones.")
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(cases_app, name="cases")
app.add_typer(actions_app, name="actions")
SCHEMA = "iotwarden.respond/1"


class Enforce(StrEnum):
    dry_run = "dry-run"
    nftables = "nftables"
    policy = "policy"


PLAYBOOKS_ARG = typer.Argument(..., help="Playbook YAML file, or a folder of them.")
ENFORCE_OPTION = typer.Option(Enforce.dry_run, "--enforce",
                              help="dry-run: log the quarantine rules only; nftables: apply the standalone "
                                   "quarantine table on this host; policy: move the device into the isolated zone "
                                   "of the stored policy --policy and load that ruleset.")
POLICY_OPTION = typer.Option(None, "--policy", help="Stored policy that --enforce policy (and playbooks with "
                             "quarantine: {via: policy}) quarantine in; loads with --netns or --yes.")
YES_OPTION = typer.Option(False, "--yes", help="--enforce policy: load into this host's own namespace.")
NETNS_OPTION = typer.Option(None, "--netns", help="Apply nftables inside this network namespace.")
ALLOW_OPTION = typer.Option([], "--allow", help="What a quarantined device may still reach: "
                            "'CIDR', 'CIDR udp/53' or 'any udp/67' (repeatable).")
ACTOR_OPTION = typer.Option(None, "--actor", help="Who acts (default user:<login name>).")


def read_playbooks(path: Path) -> list[Playbook]:
    """The playbooks of a file or folder; a folder without playbook files is a mistaken path, refused."""
    from iotwarden.respond.playbook import load_playbooks  # noqa: PLC0415

    found = load_playbooks(path)
    if not found and path.is_dir():
        raise PolicyError(f"{path}: no playbook files (*.yaml, *.yml) in this folder")
    return found


def _actor(actor: str | None) -> str:
    return actor or f"user:{getpass.getuser()}"


def _policy_enforcer(store: Store, policy: str | None, netns: str | None, yes: bool) -> PolicyEnforcer:
    from iotwarden.respond.policy_enforcer import PolicyEnforcer  # noqa: PLC0415

    if not policy:
        raise ConfigError("--enforce policy needs --policy NAME (a stored policy: iotwarden policy load)")
    if netns is None and not yes:
        raise ConfigError("--policy: give --netns NS, or --yes to change this host's own firewall")
    return PolicyEnforcer(store, policy, netns=netns, confirm=yes)


def _enforcers(enforce: Enforce, netns: str | None, allows: list[str], store: Store, *, policy: str | None = None,
               yes: bool = False) -> tuple[QuarantineEnforcer, dict[str, QuarantineEnforcer]]:
    """The run's quarantine enforcer (``--enforce``) and those a playbook may name with ``via``: ``table``
    (standalone table; dry-run with --enforce dry-run) and, with --policy, ``policy``."""
    from iotwarden.respond.quarantine import Allow, DryRunEnforcer, NftablesEnforcer  # noqa: PLC0415

    parsed = tuple(Allow.parse(a) for a in allows)
    table: QuarantineEnforcer = DryRunEnforcer(parsed) if enforce is Enforce.dry_run else NftablesEnforcer(parsed,
                                                                                                           netns)
    named: dict[str, QuarantineEnforcer] = {"table": table}
    if policy or enforce is Enforce.policy:
        named["policy"] = _policy_enforcer(store, policy, netns, yes)
    return (named["policy"] if enforce is Enforce.policy else table), named


def _ca(store: Store, ca_dir: Path, env: str) -> DeviceCA | None:
    """The device CA when ``ca_dir`` holds one (revocations then work); None otherwise."""
    from iotwarden.identity.ca import ROOT_CERT, DeviceCA  # noqa: PLC0415 - cryptography: only with a CA
    from iotwarden.store.identity_models import SqlIdentityRepository  # noqa: PLC0415

    if not (ca_dir / ROOT_CERT).exists():
        return None
    return DeviceCA.open(ca_dir, _passphrase(env), SqlIdentityRepository(store))


def _actions_table(records: list[ActionRecord]) -> Table:
    table = Table(box=None, pad_edge=False)
    for col in ("id", "when", "actor", "action", "device", "case", "status", "undone"):
        table.add_column(col)
    for r in records:
        table.add_row(str(r.id), ts_text(r.ts), r.actor, r.kind, r.device_key or "", str(r.case_id or ""), r.status,
                      ts_text(r.undone_at))
    return table


# --- playbooks ------------------------------------------------------------------------------------------

@playbooks_app.command("validate")
def playbooks_validate(path: Path = PLAYBOOKS_ARG) -> None:
    """Check playbooks; a bad one is reported naming the playbook and the key (exit code 2)."""
    found = read_playbooks(path)
    typer.echo(f"{path}: {len(found)} playbook(s) valid")


@playbooks_app.command("list")
def playbooks_list(path: Path = PLAYBOOKS_ARG, *, fmt: Format = FORMAT_OPTION,
                   out: Path | None = OUTPUT_OPTION) -> None:
    """The playbooks with their triggers and actions."""
    from iotwarden.respond.playbook import to_dict  # noqa: PLC0415

    found = read_playbooks(path)

    def render(console: Console) -> None:
        table = Table(box=None, pad_edge=False)
        for col in ("name", "enabled", "allow_ot", "trigger", "actions"):
            table.add_column(col)
        for pb in found:
            data = to_dict(pb)
            trig = "; ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in data["trigger"].items())
            table.add_row(pb.name, str(pb.enabled).lower(), str(pb.allow_ot).lower(), trig,
                          ", ".join(a.kind for a in pb.actions))
        console.print(table)

    emit(fmt, {"schema": SCHEMA, "playbooks": [to_dict(p) for p in found]}, render, out)


@playbooks_app.command("run")
def playbooks_run(path: Path = PLAYBOOKS_ARG, *, db: str | None = DB_OPTION, enforce: Enforce = ENFORCE_OPTION,
                  netns: str | None = NETNS_OPTION, allow: list[str] = ALLOW_OPTION,
                  policy: str | None = POLICY_OPTION, yes: bool = YES_OPTION,
                  ca_dir: Path = CA_DIR_OPTION, passphrase_env: str = PASS_ENV_OPTION,
                  fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Run the playbooks on the stored new alerts they have not handled yet; every action is logged."""
    from iotwarden.respond.engine import ResponseEngine  # noqa: PLC0415

    found = read_playbooks(path)
    with open_store(db) as store:
        default, named = _enforcers(enforce, netns, allow, store, policy=policy, yes=yes)
        engine = ResponseEngine(store, found, enforcer=default, enforcers=named,
                                ca=_ca(store, ca_dir, passphrase_env))
        done = engine.run_stored()
    emit(fmt, {"schema": SCHEMA, "actions": [r.to_dict() for r in done]},
         lambda c: c.print(_actions_table(done)) if done else c.print("no playbook matched a new alert"), out)


# --- cases ----------------------------------------------------------------------------------------------

@cases_app.command("list")
def cases_list(*, db: str | None = DB_OPTION,
               status: Annotated[str | None, typer.Option("--status", help="open or closed.")] = None,
               device: Annotated[str | None, typer.Option("--device", help="Device key.")] = None,
               fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Cases, most recently updated first."""
    from iotwarden.respond import cases  # noqa: PLC0415

    with open_store(db) as store, store.session() as session:
        found = cases.list_cases(session, status=status, device=device)

    def render(console: Console) -> None:
        table = Table(box=None, pad_edge=False)
        for col in ("id", "updated", "severity", "status", "phase", "device", "title"):
            table.add_column(col)
        for c in found:
            table.add_row(str(c.id), ts_text(c.updated_at), c.severity, c.status, c.phase, c.device_key or "", c.title)
        console.print(table)

    emit(fmt, {"schema": SCHEMA, "cases": [c.to_dict() for c in found]}, render, out)


@cases_app.command("show")
def cases_show(case_id: int, *, db: str | None = DB_OPTION, fmt: Format = FORMAT_OPTION,
               out: Path | None = OUTPUT_OPTION) -> None:
    """One case with its timeline."""
    from iotwarden.respond import cases  # noqa: PLC0415

    with open_store(db) as store, store.session() as session:
        case = cases.to_case(session, cases.get_row(session, case_id))

    def render(console: Console) -> None:
        console.print(f"[bold]case {case.id}: {case.title}[/]  ({case.severity}, {case.status}, {case.phase})")
        console.print(f"device {case.device_key or '-'}  opened {ts_text(case.opened_at)} by {case.opened_by}")
        for e in case.timeline:
            ref = f" [{e['ref']}]" if e["ref"] else ""
            console.print(f"  {ts_text(e['ts'])}  {e['phase']:<34} {e['kind']:<7} {e['text']}{ref}  ({e['author']})",
                          markup=False)

    emit(fmt, {"schema": SCHEMA, "case": case.to_dict()}, render, out)


def _case_change(fn: Any, case_id: int, db: str | None, **kwargs: Any) -> None:
    with open_store(db) as store, store.transaction() as session:
        row = fn(session, case_id, now=time.time(), **kwargs)
        typer.echo(f"case {row.id}: {row.status}, {row.phase}")


@cases_app.command("note")
def cases_note(case_id: int, text: str, *, db: str | None = DB_OPTION, actor: str | None = ACTOR_OPTION,
               phase: Annotated[str | None, typer.Option("--phase", help=f"One of {', '.join(PHASES)}.")] = None,
               ) -> None:
    """Add a note to a case's timeline (optionally moving it to a later phase)."""
    from iotwarden.respond import cases  # noqa: PLC0415

    _case_change(cases.note, case_id, db, text=text, author=_actor(actor), phase=phase)


@cases_app.command("close")
def cases_close(case_id: int, *, db: str | None = DB_OPTION, actor: str | None = ACTOR_OPTION,
                reason: str = typer.Option("", "--reason", help="Why (lessons learned).")) -> None:
    """Close a case (post-incident activity)."""
    from iotwarden.respond import cases  # noqa: PLC0415

    _case_change(cases.close, case_id, db, author=_actor(actor), reason=reason)


@cases_app.command("reopen")
def cases_reopen(case_id: int, *, db: str | None = DB_OPTION, actor: str | None = ACTOR_OPTION,
                 reason: str = typer.Option("", "--reason", help="Why.")) -> None:
    """Reopen a closed case (back to detection & analysis)."""
    from iotwarden.respond import cases  # noqa: PLC0415

    _case_change(cases.reopen, case_id, db, author=_actor(actor), reason=reason)


# --- actions --------------------------------------------------------------------------------------------

@actions_app.command("list")
def actions_list(*, db: str | None = DB_OPTION,
                 device: Annotated[str | None, typer.Option("--device", help="Device key.")] = None,
                 case: Annotated[int | None, typer.Option("--case", help="Case id.")] = None,
                 fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Logged response actions, newest first."""
    from iotwarden.respond.actions import list_actions  # noqa: PLC0415

    with open_store(db) as store, store.session() as session:
        found = list_actions(session, device=device, case_id=case)
    emit(fmt, {"schema": SCHEMA, "actions": [r.to_dict() for r in found]},
         lambda c: c.print(_actions_table(found)), out)


@actions_app.command("undo")
def actions_undo(action_id: int, *, db: str | None = DB_OPTION, actor: str | None = ACTOR_OPTION,
                 netns: str | None = NETNS_OPTION, yes: bool = YES_OPTION, fmt: Format = FORMAT_OPTION,
                 out: Path | None = OUTPUT_OPTION) -> None:
    """Undo an action: release a quarantine (with the enforcer that applied it), close the case a
    playbook opened, remove a tag. Certificate revocation cannot be undone: issue a new certificate."""
    from iotwarden.respond.actions import get_action  # noqa: PLC0415
    from iotwarden.respond.engine import ResponseEngine  # noqa: PLC0415
    from iotwarden.respond.policy_enforcer import PolicyEnforcer  # noqa: PLC0415
    from iotwarden.respond.quarantine import DryRunEnforcer, NftablesEnforcer  # noqa: PLC0415

    with open_store(db) as store:
        with store.session() as session:
            logged = get_action(session, action_id)
            result = dict(logged.result or {}) if logged.kind == "quarantine" else {}
        kind, where = result.get("enforcer"), netns or result.get("netns")
        enforcer: QuarantineEnforcer = DryRunEnforcer()
        if kind == NftablesEnforcer.__name__:
            enforcer = NftablesEnforcer(netns=where)
        elif kind == PolicyEnforcer.__name__:
            enforcer = _policy_enforcer(store, result.get("policy"), where, yes)
        record = ResponseEngine(store, [], enforcer=enforcer).undo(action_id, actor=_actor(actor))
    emit(fmt, {"schema": SCHEMA, "action": record.to_dict()},
         lambda c: c.print(f"action {action_id} undone: {record.kind} logged as action {record.id}"), out)
