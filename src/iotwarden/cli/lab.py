"""``iotwarden lab``: generate a realistic enterprise capture and its ground truth from a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iotwarden.cli.files import check_output
from iotwarden.cli.main import app
from iotwarden.cli.progress import activity

lab_app = typer.Typer(help="Simulated enterprise networks: scenario files to captures.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
console = Console(stderr=True)


@lab_app.callback()
def _lab() -> None:
    """Simulated enterprise networks: scenario files to captures."""


@lab_app.command("generate")
def generate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see src/iotwarden/lab/scenarios/).")],
    *,
    output: Annotated[Path, typer.Option("-o", "--output", help="pcap file to write.")],
    truth: Annotated[Path | None, typer.Option("--truth", help="Ground-truth JSON file to write.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Override the duration (seconds).")] = None,
    attacks: Annotated[bool | None, typer.Option("--attacks/--no-attacks",
                                                 help="Switch every attack on or off (default: as the scenario "
                                                      "says).")] = None,
) -> None:
    """Write the capture (and ground truth) of SCENARIO; same seed, same bytes."""
    from iotwarden.lab.generator import generate, load_scenario  # noqa: PLC0415 - ~0.1 s: only for this command

    check_output(output)
    check_output(truth)
    loaded = load_scenario(scenario)
    with activity(f"generating {output.name}"):
        result = generate(loaded, output, truth, seed=seed, duration=duration, attacks=attacks)
    console.print(f"{output}: {result['packets']} packets, {result['bytes']} bytes, "
                  f"{len(result['devices'])} devices, {len(result['attacks'])} attacks", highlight=False)
