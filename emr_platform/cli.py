"""The ``emr-platform`` command line. Sub-apps: ``config`` (this file); more are added with ``app.add_typer``."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from emr_platform.config import ConfigError, load_config
from emr_platform.config import json_schema as config_json_schema

app = typer.Typer(help="EMR data platform: config, files and teams.", no_args_is_help=True)
config_app = typer.Typer(help="Validate, show and export the platform config.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()
err = Console(stderr=True)


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of config.yml (point your editor's YAML language server at it)."""
    typer.echo(json.dumps(config_json_schema(), indent=2))


@config_app.command("validate")
def config_validate(stage: str = typer.Option(None, help="Stage to merge (default: $EMR_PLATFORM_STAGE or local).")) -> None:
    """Load config.yml + stages/<stage>.yml; print every problem and exit 1 if there is any."""
    try:
        config = load_config(stage)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red] {problem}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]ok[/green] stage {config.stage}: {len(config.teams)} teams", highlight=False)


@config_app.command("show")
def config_show(stage: str = typer.Option(None, help="Stage to merge (default: $EMR_PLATFORM_STAGE or local).")) -> None:
    """Print the merged config of a stage as JSON."""
    try:
        config = load_config(stage)
    except ConfigError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(1) from None
    typer.echo(config.model_dump_json(indent=2))
