"""``emr-platform spark``: interactive Spark for a team.

- ``session --team T [--stage S] [--print]``: opens the team's session (the warm local Spark
  Connect server, or a Spark Connect session on the team's EMR Serverless application) and
  gives a Python prompt with ``spark`` and ``lake`` bound (IPython when installed and on a
  terminal, else Python's own), or with ``--print`` prints the ``SPARK_REMOTE`` value and holds
  the session until stdin closes or Ctrl-C. Whatever was started is ended on exit.
- ``submit --team T SCRIPT [--size S] [--substrate X] [-- ARGS]``: runs a script once as a Dagster
  run of the team's ad-hoc job (see ``assets/lib/adhoc.py``).

Expected failures print one line on stderr and exit 1 (130 after Ctrl-C).
"""

from __future__ import annotations

import code
import contextlib
import getpass
import logging
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.markup import escape

from apps.cli_errors import clean_errors, err
from emr_platform.config import ConfigError, PlatformConfig, find_root, load_config

spark_app = typer.Typer(help="Interactive Spark: a session at a prompt, or a script run once.", no_args_is_help=True)
STAGE_HELP = "Stage (default: $EMR_PLATFORM_STAGE or local)."
# pyspark's default retries of an unreachable server back off for minutes (15 retries, up to 60 s
# apart); at a prompt a lost connection is reported after about 3.5 s instead (waits of 50, 200, 800
# and 2000 ms, the last with up to 500 ms of pyspark's jitter).
PROMPT_RETRIES = {"max_retries": 4, "initial_backoff": 50, "backoff_multiplier": 4.0, "max_backoff": 2000}
# The gRPC status codes of a Spark Connect server that cannot be reached any more.
CONNECTION_LOST = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` is, or was raised from, a gRPC call that failed with one of
    :data:`CONNECTION_LOST`: pyspark 4.0 raises ``RetriesExceeded`` from the last ``UNAVAILABLE``
    call once its retries give up, and ``SparkConnectGrpcException`` (``from None``, the call kept
    as its context) for a call it does not retry."""
    import grpc

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        code = error.code() if isinstance(error, grpc.RpcError) and callable(getattr(error, "code", None)) else None
        if code is not None and code.name in CONNECTION_LOST:
            return True
        error = error.__cause__ or error.__context__
    return False


def _config(ctx: typer.Context, stage: str | None) -> PlatformConfig:
    root = ctx.find_root().params.get("root") or find_root()
    return load_config(stage, root=root)


@contextlib.contextmanager
def _exit_on_hangup() -> Iterator[None]:
    """SIGTERM and SIGHUP (terminal closed) end the prompt like Ctrl-D, so the session is ended too."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class SessionConsole(code.InteractiveConsole):
    """Python's interactive console, with one-line errors for a refused table and a lost connection."""

    def __init__(self, namespace: dict, where: str):
        super().__init__(namespace)
        self.where = where

    def showtraceback(self) -> None:
        from emr_platform.lake.storage import PathError

        error = sys.exc_info()[1]
        if isinstance(error, PathError):
            self.write(f"error: {error}\n")
        elif connection_lost(error):
            self.write(
                f"error: lost the connection to {self.where}: check your network and retry; "
                "leave the prompt (Ctrl-D) to end the session\n"
            )
        else:
            super().showtraceback()


def interact(namespace: dict, banner: str, where: str) -> None:
    """A prompt over ``namespace``: IPython when installed and stdin is a terminal, else Python's own."""
    if sys.stdin.isatty():
        try:
            import IPython
        except ImportError:
            pass
        else:
            print(banner)
            IPython.start_ipython(argv=["--no-banner"], user_ns=namespace)
            return
    SessionConsole(namespace, where).interact(banner=banner, exitmsg="")


def _describe_cost(opened) -> str:
    usage = opened.usage
    if usage is None:
        return ""
    metadata = usage.metadata()
    return f"{usage.job_seconds:.0f} s, cost USD {metadata['cost_usd']:.4f} ({metadata['cost_basis']})"


@spark_app.command("session")
def session(
    ctx: typer.Context,
    team: str = typer.Option(..., "--team", "-t", help="The team whose data and application the session uses."),
    stage: str = typer.Option(None, "--stage", "-s", help=STAGE_HELP),
    print_remote: bool = typer.Option(
        False, "--print", help="Print the SPARK_REMOTE value for a notebook or IDE and hold the session until stdin closes."
    ),
) -> None:
    """Open a Spark session for TEAM and give a prompt with `spark` and `lake` (or print SPARK_REMOTE)."""
    from resources.sessions import open_session

    with clean_errors(), _exit_on_hangup():
        config = _config(ctx, stage)
        user = getpass.getuser()
        started = time.monotonic()
        with contextlib.ExitStack() as held:
            with err.status("opening a Spark session", spinner="dots") as status:
                progress = lambda state: status.update(f"opening a Spark session: {escape(state)}")  # noqa: E731
                opened = held.enter_context(open_session(config, team, user, progress))
            err.print(f"[green]ready[/green] {escape(opened.where)} in {time.monotonic() - started:.1f} s", highlight=False)
            if opened.warm_capacity is not None:
                warm = opened.warm_capacity
                err.print(
                    f"pre-initialized capacity of the application: started {warm.job_seconds / 60:.0f} min ago, "
                    f"about USD {warm.metadata()['cost_usd']:.4f} so far (billed while started, idle or not)",
                    highlight=False,
                )
            if print_remote:
                typer.echo(opened.remote)
                err.print("the session stays open until stdin closes (Ctrl-D) or Ctrl-C", highlight=False)
                with contextlib.suppress(KeyboardInterrupt):
                    sys.stdin.read()
            else:
                _prompt(config, team, opened)
        err.print(f"closed {escape(opened.where)}: {_describe_cost(opened)}", highlight=False)
        _record_session(ctx, team, user, opened)


def _record_session(ctx: typer.Context, team: str, user: str, opened) -> None:
    """The session's usage and cost as a materialization of ``[team, interactive, sessions]`` in the
    Dagster instance, where the cost report and the budget sensor count it."""
    import dagster as dg

    from assets.lib.adhoc import record_key

    if opened.usage is None:
        return
    metadata = {**opened.usage.metadata(), "user": user, "session": opened.session_id or "local", "where": opened.where}
    try:
        instance = _instance(Path(ctx.find_root().params.get("root") or find_root()))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=record_key(team, "sessions"), metadata=metadata))
    except Exception as exc:  # the session is closed either way; say what was not recorded
        err.print(f"[yellow]warning[/yellow] the session's cost was not recorded in Dagster: {escape(repr(exc))}", highlight=False)


def _prompt(config: PlatformConfig, team: str, opened) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    from emr_platform.sessions import TeamLake

    spark = SparkSession.builder.remote(opened.remote).getOrCreate()
    spark.client.set_retry_policies([DefaultPolicy(**PROMPT_RETRIES)])
    for conf in ("spark.sql.connect.serverStacktrace.enabled", "spark.sql.pyspark.jvmStacktrace.enabled"):
        spark.conf.set(conf, "false")  # a failed query shows Spark's error, not pages of JVM frames
    lake = TeamLake(spark, config, team)
    banner = (
        f"Spark {spark.version} on {opened.where} (team {team}, stage {config.stage}).\n"
        f"  spark: the SparkSession; lake.table('<team>/<domain>/<table>') reads {', '.join(lake.readable())}.\n"
        "  Ctrl-D leaves and ends the session."
    )
    try:
        interact({"spark": spark, "lake": lake}, banner, opened.where)
    finally:
        with contextlib.suppress(Exception):
            spark.stop()


@spark_app.command("submit")
def submit(
    ctx: typer.Context,
    script: Path = typer.Argument(..., help="The PySpark script to run once."),
    args: list[str] = typer.Argument(None, help="The script's arguments, after `--`."),
    team: str = typer.Option(..., "--team", "-t", help="The team whose substrate, role and budget the run uses."),
    size: str = typer.Option("", "--size", help="Job size of config.yml (default: the team's)."),
    substrate: str = typer.Option("", "--substrate", help="Substrate (default: the team's, as the stage resolves it)."),
    stage: str = typer.Option(None, "--stage", "-s", help=STAGE_HELP),
) -> None:
    """Run SCRIPT once on TEAM's substrate as a Dagster run of the team's `adhoc` job; print the Spark UI
    link, the driver log tail and the cost."""
    from assets.lib.adhoc import AdhocRun, adhoc_job_of

    with clean_errors():
        config = _config(ctx, stage)
        run = AdhocRun(script=str(script.expanduser().resolve()), size=size, substrate=substrate, args=list(args or []))
        job = adhoc_job_of(config, team, run, "-")  # every problem named before a Dagster run exists
        err.print(f"running {escape(str(job.script))} on {job.tags['substrate']} (size {job.size_name}) for team {team}",
                  highlight=False)
        result = _execute_adhoc(ctx, config, team, run)
    _report(result)
    if not result.success:
        raise typer.Exit(1)


def _instance(root: Path):
    """The Dagster instance of ``$DAGSTER_HOME``, else ``<root>/.dagster_home`` (what `make ui` shows)."""
    import os

    import dagster as dg

    home = Path(os.environ.get("DAGSTER_HOME") or root / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _execute_adhoc(ctx: typer.Context, config: PlatformConfig, team: str, run):
    import getpass

    from dagster._core.errors import DagsterExecutionInterruptedError

    from assets.lib.adhoc import JOB_NAME, OP_NAME
    from apps.workspace import location_definitions
    from emr_platform.workspace import workspace_locations

    root = Path(ctx.find_root().params.get("root") or find_root())
    modules = workspace_locations(root)
    if team not in modules:
        raise ConfigError([f"workspace.yaml: expected a code location named {team}"])
    job = location_definitions(team, modules[team], config).resolve_job_def(JOB_NAME)
    try:
        return job.execute_in_process(
            run_config={
                "ops": {OP_NAME: {"config": run.model_dump()}},
                "loggers": {"console": {"config": {"log_level": "INFO"}}},  # the script's output, not every event
            },
            instance=_instance(root),
            tags={"user": getpass.getuser()},
            raise_on_error=False,
        )
    except DagsterExecutionInterruptedError:
        raise KeyboardInterrupt from None


def _report(result) -> None:
    """The run's id and status, Spark UI link, the driver log tail (or the failure with its tail) and the cost, on stderr."""
    import dagster as dg

    status = "[green]succeeded[/green]" if result.success else "[red]failed[/red]"
    err.print(f"Dagster run {result.run_id} {status}", highlight=False)
    metadata = {}
    for event in result.all_events:
        if event.is_step_materialization:
            metadata = {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
    if metadata.get("spark_ui"):
        err.print(f"Spark UI (valid one hour): {metadata['spark_ui']}", highlight=False)
    if result.success:
        logs = dg.DagsterInstance.get().all_logs(result.run_id)
        lines = [r.user_message for r in logs if not r.is_dagster_event and r.level == logging.INFO and r.user_message]
        tail = [line for line in lines if not line.startswith(("ad-hoc run of", "Spark UI", "staged ", "starting EMR"))]
        if tail:
            err.print("--- last driver log lines ---\n" + escape("\n".join(tail[-10:])), highlight=False)
    else:
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        error = failure.event_specific_data.error
        while error.cause is not None and "last driver log lines" not in error.message:
            error = error.cause
        err.print(escape(error.message.strip()), highlight=False)
    if "cost_usd" in metadata:
        err.print(
            f"{metadata.get('job_seconds', 0):.0f} s on {metadata.get('substrate')}, "
            f"cost USD {metadata['cost_usd']:.4f} ({metadata.get('cost_basis', '')})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``spark`` to the ``emr-platform`` command line."""
    app.add_typer(spark_app, name="spark")


