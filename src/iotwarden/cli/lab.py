"""``iotwarden lab``: list the shipped scenarios; generate a realistic enterprise capture and its ground truth
from a shipped scenario or a scenario file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from iotwarden.cli.analyze import FORMAT_OPTION, Format, emit
from iotwarden.cli.files import check_output
from iotwarden.cli.main import app
from iotwarden.cli.progress import activity

if TYPE_CHECKING:
    from iotwarden.lab.shipped import ShippedScenario

lab_app = typer.Typer(help="Simulated enterprise networks: scenarios to captures.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
console = Console(stderr=True)
SCHEMA = "iotwarden.lab.scenarios/1"


@lab_app.callback()
def _lab() -> None:
    """Simulated enterprise networks: scenarios to captures."""


def _duration_text(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


def _table(found: list[ShippedScenario]) -> Table:
    table = Table(title=f"Shipped scenarios ({len(found)})", title_justify="left")
    for name in ("name", "description", "devices", "attacks", "duration"):
        table.add_column(name, justify="right" if name in ("devices", "duration") else "left", overflow="fold",
                         no_wrap=name == "name")
    for s in found:
        attacks = "\n".join(f"{kind} ({'on' if on else 'off'})" for kind, on in s.attacks) or "none"
        # Text: a scenario's words are shown as written, never read as Rich markup ('[...]')
        table.add_row(Text(s.name), Text(s.description), str(s.devices), attacks, _duration_text(s.duration))
    return table


@lab_app.command("list")
def list_cmd(*, fmt: Format = FORMAT_OPTION) -> None:
    """The shipped scenarios, by the name lab generate takes: devices, attacks (on or off by default), duration."""
    from iotwarden.lab.shipped import shipped_scenarios  # noqa: PLC0415 - every behaviour's module: ~0.1 s

    found = shipped_scenarios()
    emit(fmt, {"schema": SCHEMA, "scenarios": [s.to_dict() for s in found]}, lambda c: c.print(_table(found)), None)


@lab_app.command("generate")
def generate_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or the name of a shipped scenario "
                                                 "(iotwarden lab list), e.g. small; an existing file wins.")],
    *,
    output: Annotated[Path, typer.Option("-o", "--output", help="pcap file to write.")],
    truth: Annotated[Path | None, typer.Option("--truth", help="Ground-truth JSON file to write.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Override the duration (seconds).")] = None,
    attacks: Annotated[bool | None, typer.Option("--attacks/--no-attacks",
                                                 help="Switch every attack on or off (default: as the scenario "
                                                      "says).")] = None,
) -> None:
    """Write the capture (and ground truth) of SCENARIO, a file or a shipped name; same seed, same bytes."""
    from iotwarden.lab.generator import generate, load_scenario  # noqa: PLC0415 - ~0.1 s: only for this command
    from iotwarden.lab.shipped import resolve_scenario  # noqa: PLC0415

    check_output(output)
    check_output(truth)
    loaded = load_scenario(resolve_scenario(scenario))
    with activity(f"generating {output.name}"):
        result = generate(loaded, output, truth, seed=seed, duration=duration, attacks=attacks)
    console.print(f"{output}: {result['packets']} packets, {result['bytes']} bytes, "
                  f"{len(result['devices'])} devices, {len(result['attacks'])} attacks", highlight=False)
