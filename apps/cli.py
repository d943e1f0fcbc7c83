"""The ``emr-platform`` command line: ``config`` (validate, schema, show), ``files`` (a team's lake
prefix: ls, tree, upload, download, preview, rm) and ``team new``.

Every command loads the config through :func:`emr_platform.config.load_config` from ``--root``
(default: the nearest directory at or above the working directory holding ``config.yml`` and
``stages/``, so each checkout validates itself). Expected failures (bad config, refused path, missing file, AWS errors)
print one clear line on stderr and exit 1, without a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape as _escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table
from rich.tree import Tree

from emr_platform import substrates
from apps import spark_commands
from apps.cli_errors import clean_errors, err
from emr_platform.config import ConfigError, PlatformConfig, available_stages, find_root, load_config
from emr_platform.config import json_schema as config_json_schema

app = typer.Typer(help="EMR data platform: config, files and teams.", no_args_is_help=True)
config_app = typer.Typer(help="Validate, show and export the platform config.", no_args_is_help=True)
files_app = typer.Typer(
    help="Browse, transfer, preview and remove files in a team's lake prefix.", no_args_is_help=True
)
team_app = typer.Typer(help="Add teams.", no_args_is_help=True)
asset_app = typer.Typer(help="Add Spark assets declared in YAML (SQL or PySpark).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(files_app, name="files")
app.add_typer(team_app, name="team")
app.add_typer(asset_app, name="asset")
spark_commands.register(app)
console = Console()
_state: dict[str, Path | None] = {"root": None}

STAGE_HELP = "Stage to merge (default: $EMR_PLATFORM_STAGE or local)."
TeamOption = typer.Option(..., "--team", "-t", help="The team whose prefix the path is relative to.")
StageOption = typer.Option(None, "--stage", "-s", help=STAGE_HELP)


@app.callback()
def main(
    root: Path = typer.Option(
        None,
        "--root",
        help="Repository holding config.yml, stages/, workspace.yaml, assets/ "
        "(default: the nearest one at or above the working directory).",
    ),
) -> None:
    """EMR data platform: config, files and teams."""
    _state["root"] = root


def _root() -> Path:
    """``--root``, else the nearest directory at or above the working directory with config.yml and stages/."""
    return _state["root"] or find_root()


def _config(stage: str | None) -> PlatformConfig:
    return load_config(stage, root=_root())


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of config.yml (point your editor's YAML language server at it)."""
    typer.echo(json.dumps(config_json_schema(), indent=2))


@config_app.command("validate")
def config_validate(
    stage: str = typer.Option(None, help=STAGE_HELP),
    all_stages: bool = typer.Option(False, "--all-stages", help="Validate every stages/<stage>.yml."),
) -> None:
    """Load config.yml + stages/<stage>.yml; print every problem and exit 1 if there is any."""
    if not all_stages:
        with clean_errors():
            config = _config(stage)
        console.print(f"[green]ok[/green] stage {config.stage}: {len(config.teams)} teams", highlight=False)
        return
    if stage:
        raise typer.BadParameter("give --stage or --all-stages, not both", param_hint="--all-stages")
    with clean_errors():
        root = _root()
        stages = available_stages(root)
        if not stages:
            raise ConfigError([f"stages/: expected at least one stage file <stage>.yml in {root / 'stages'}"])
    failed = False
    for name in stages:
        try:
            config = load_config(name, root=root)
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                err.print(f"[red]error[/red] stage {name}: {_escape(problem)}", highlight=False)
            continue
        console.print(f"[green]ok[/green] stage {config.stage}: {len(config.teams)} teams", highlight=False)
    if failed:
        raise typer.Exit(1)


@config_app.command("show")
def config_show(stage: str = typer.Option(None, help=STAGE_HELP)) -> None:
    """Print the merged config of a stage as JSON."""
    with clean_errors():
        config = _config(stage)
    typer.echo(config.model_dump_json(indent=2))


# files ---------------------------------------------------------------------------------------

MIB = 1024 * 1024


def _storage(team: str, stage: str | None, threshold_mib: int = 8, chunk_mib: int = 8):
    from emr_platform.lake.storage import open_storage

    return open_storage(
        _config(stage), team, multipart_threshold=threshold_mib * MIB, multipart_chunksize=chunk_mib * MIB
    )


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class _RichProgress:
    """The storage module's progress protocol on a rich progress bar."""

    def __init__(self, progress: Progress, label: str):
        self.progress, self.label, self.task = progress, label, None

    def begin(self, total_bytes: int) -> None:
        self.task = self.progress.add_task(self.label, total=total_bytes)

    def advance(self, n_bytes: int) -> None:
        self.progress.advance(self.task, n_bytes)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err, transient=False,
    )


@files_app.command("ls")
def files_ls(path: str = typer.Argument("", help="Relative to the team's prefix, or lake://<team>/..."),
             team: str = TeamOption, stage: str = StageOption) -> None:
    """List a directory (or one file) of the team's prefix or an upstream team's."""
    with clean_errors():
        storage = _storage(team, stage)
        target = storage.resolve(path)
        entries = storage.list(target)
    console.print(f"[bold]{_escape(str(target))}[/bold]" + ("" if entries else "  (empty)"), highlight=False)
    if not entries:
        return
    table = Table("name", "size")
    for entry in entries:
        name = _escape(entry.relative + ("/" if entry.is_dir else ""))
        table.add_row(name, _size(entry.size), style="bold blue" if entry.is_dir else None)
    console.print(table)


@files_app.command("tree")
def files_tree(path: str = typer.Argument("", help="Relative to the team's prefix, or lake://<team>/..."),
               team: str = TeamOption, stage: str = StageOption) -> None:
    """Every file under a directory, as a tree with sizes."""
    with clean_errors():
        storage = _storage(team, stage)
        target = storage.resolve(path)
        entries = list(storage.walk(target))
        if not entries:
            entries = storage.list(target)  # a single file, or FileNotFoundError
    tree = Tree(f"[bold]{_escape(str(target))}[/bold]")
    nodes: dict[str, Tree] = {"": tree}
    for entry in entries:
        parts = entry.relative.split("/")
        for depth in range(1, len(parts)):
            parent, here = "/".join(parts[: depth - 1]), "/".join(parts[:depth])
            if here not in nodes:
                nodes[here] = nodes[parent].add(f"[bold blue]{_escape(parts[depth - 1])}/[/bold blue]")
        nodes["/".join(parts[:-1])].add(f"{_escape(parts[-1])} [dim]{_size(entry.size)}[/dim]")
    console.print(tree)


@files_app.command("upload")
def files_upload(
    local: Path = typer.Argument(..., help="Local file or directory."),
    path: str = typer.Argument("", help="Destination in the team's own prefix (end with / to keep the file name)."),
    team: str = TeamOption,
    stage: str = StageOption,
    multipart_threshold_mib: int = typer.Option(8, min=5, help="Files larger than this go up in parts (S3), MiB."),
    multipart_chunk_mib: int = typer.Option(8, min=5, help="Part size (S3; at least 5 MiB), MiB."),
    force: bool = typer.Option(False, "--force", help="Overwrite files already in the lake."),
) -> None:
    """Upload a file or directory into the team's own prefix (multipart on S3, with a progress bar)."""
    with clean_errors():
        storage = _storage(team, stage, multipart_threshold_mib, multipart_chunk_mib)
        with _progress() as progress:
            written = storage.upload(local, path, _RichProgress(progress, "upload"), overwrite=force)
    for target in written:
        console.print(f"[green]uploaded[/green] {_escape(str(target))}", highlight=False)


@files_app.command("download")
def files_download(
    path: str = typer.Argument(..., help="Relative to the team's prefix, or lake://<team>/... (upstream teams too)."),
    local: Path = typer.Argument(Path("."), help="Local destination file or directory."),
    team: str = TeamOption,
    stage: str = StageOption,
    force: bool = typer.Option(False, "--force", help="Overwrite local files."),
) -> None:
    """Download a file or directory (multipart on S3, with a progress bar)."""
    with clean_errors():
        storage = _storage(team, stage)
        with _progress() as progress:
            written = storage.download(path, local, _RichProgress(progress, "download"), overwrite=force)
    for file in written:
        console.print(f"[green]downloaded[/green] {_escape(str(file))}", highlight=False)


@files_app.command("preview")
def files_preview(
    path: str = typer.Argument(..., help="A parquet/CSV/JSON file or a directory of parquet part files."),
    team: str = TeamOption,
    stage: str = StageOption,
    rows: int = typer.Option(10, "--rows", "-n", min=0, help="How many rows to show."),
) -> None:
    """Schema and first rows of parquet (file or directory), CSV or JSON; parquet row counts come from footers."""
    from emr_platform.preview import preview

    with clean_errors():
        storage = _storage(team, stage)
        target = storage.resolve(path)
        result = preview(*storage.arrow_path(target), rows=rows)
    total = "unknown (not counted)" if result.total_rows is None else f"{result.total_rows:,}"
    summary = f"{result.format}, {result.files} file(s), rows: {total}"
    console.print(f"[bold]{_escape(str(target))}[/bold]  {summary}", highlight=False)
    schema = Table("column", "type", title="schema", title_justify="left")
    for field in result.schema:
        schema.add_row(_escape(field.name), _escape(str(field.type)))
    console.print(schema)
    console.print(_rows_table(result.head))


WIDE_COLUMNS = 6


def _cell(value) -> str:
    return "[dim]null[/dim]" if value is None else _escape(str(value))


def _rows_table(head) -> Table:
    """Rows as a table; a wide table is transposed (one line per column) so it stays readable in a terminal."""
    title = f"first {head.num_rows} rows"
    if head.num_columns <= WIDE_COLUMNS:
        table = Table(*[_escape(name) for name in head.column_names], title=title, title_justify="left")
        for record in head.to_pylist():
            table.add_row(*[_cell(v) for v in record.values()])
        return table
    rows = [f"row {i + 1}" for i in range(head.num_rows)]
    table = Table("column", *rows, title=title + " (transposed)", title_justify="left")
    for name, column in zip(head.column_names, head.columns):
        table.add_row(_escape(name), *[_cell(v) for v in column.to_pylist()])
    return table


@files_app.command("rm")
def files_rm(
    path: str = typer.Argument(..., help="A file or directory of the team's own prefix."),
    team: str = TeamOption,
    stage: str = StageOption,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a file or directory of the team's own prefix (asks first unless --yes)."""
    with clean_errors():
        storage = _storage(team, stage)
        files = storage.removal(path)
        if not yes:
            where = _escape(str(storage.resolve(path, write=True)))
            console.print(f"{len(files)} file(s) under {where}:", highlight=False)
            for target in files[:10]:
                console.print(f"  {_escape(str(target))}", highlight=False)
            if len(files) > 10:
                console.print(f"  ... and {len(files) - 10} more")
            if not typer.confirm("Remove them?", default=False):
                err.print("nothing removed")
                raise typer.Exit(1)
        storage.remove(path)
    console.print(f"[green]removed[/green] {len(files)} file(s)", highlight=False)


# team ----------------------------------------------------------------------------------------


@team_app.command("new")
def team_new(
    name: str = typer.Argument(..., help="Lower-case letters, digits, single hyphens; part of S3 prefixes, IAM names."),
    owner: list[str] = typer.Option([], "--owner", help="Owner e-mail (repeatable); default <name>@example.com."),
    substrate: str = typer.Option("emr-serverless", help=f"Default substrate: {' | '.join(substrates.NAMES)}."),
    job_size: str = typer.Option("small", help="Default job size, a key of job_sizes."),
    budget_usd: float = typer.Option(100, help="Monthly budget, USD."),
    upstream: list[str] = typer.Option([], "--upstream", help="Team whose prefix this team may read (repeatable)."),
    description: str = typer.Option("", help="One line about the team."),
) -> None:
    """Declare a team in config.yml, scaffold assets/<name>/ with an example Spark asset, list it in workspace.yaml."""
    from apps.scaffold import TeamRequest, new_team

    request = TeamRequest(name, list(owner), substrate, job_size, budget_usd, list(upstream), description)
    with clean_errors():
        result = new_team(request, root=_root())
    for path in [result.config_file, result.workspace_file, *result.files]:
        console.print(f"[green]wrote[/green] {_escape(str(path))}", highlight=False)
    console.print(
        f"code location [bold]{name}[/bold] (module assets.{request.package}); "
        "`dagster dev -w workspace.yaml` shows it."
    )


# asset ---------------------------------------------------------------------------------------


@asset_app.command("new")
def asset_new(
    table: str = typer.Argument(..., help="The table: the asset key's last part (lower_snake)."),
    team: str = TeamOption,
    domain: str = typer.Option(..., "--domain", "-d", help="The asset key's middle part (lower_snake)."),
    sql: bool = typer.Option(False, "--sql", help="A Spark SQL asset (a .sql file); default: a PySpark script."),
    inputs: list[str] = typer.Option(
        [], "--input", "-i", help="name=team/domain/table: an input, a view of that name in SQL (repeatable)."
    ),
    description: str = typer.Option("", help="What one row of the table is."),
) -> None:
    """Scaffold assets/<team>/defs/<domain>/<table>/: a defs.yaml and its .sql (or .py) file."""
    from apps.scaffold import AssetRequest, new_asset

    with clean_errors():
        pairs = dict(item.split("=", 1) for item in inputs if "=" in item)
        if len(pairs) != len(inputs):
            raise ConfigError([f"--input: expected name=team/domain/table, got {inputs!r}"])
        written = new_asset(AssetRequest(team, domain, table, sql, pairs, description), root=_root())
    for path in written:
        console.print(f"[green]wrote[/green] {_escape(str(path))}", highlight=False)
    console.print(
        f"asset [bold]{team}/{domain}/{table}[/bold]: check it with `dg check yaml` in assets/{team.replace('-', '_')}/, "
        "then Reload definitions in the UI."
    )


@asset_app.command("schema")
def asset_schema() -> None:
    """Print the JSON Schema of a SparkAsset defs.yaml (committed as defs.schema.json)."""
    from assets.lib.components import defs_schema

    print(json.dumps(defs_schema(), indent=2))


if __name__ == "__main__":
    app()
