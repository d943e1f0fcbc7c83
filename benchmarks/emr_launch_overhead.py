"""Benchmark: fixed overhead of one EMR launch, ours against dagster-aws's stock client.

Both run against moto on 127.0.0.1 with the EMR simulator of ``tests/emr/harness.py``
playing EMR (it runs the staged script on a warm local Spark Connect server and writes
driver logs where EMR does). The overhead of a launch is its wall time minus the time the
script itself ran in the simulator: staging, requests, polling, reading messages and logs.

(a) ``EmrServerlessLauncher`` and ``EmrClassicLauncher`` (transient cluster), through an asset;
(b) baseline: dagster-aws's ``PipesEMRServerlessClient`` as documented (CloudWatch message
    reader), on the same staged script, job size and application.

Polls every ``--poll`` seconds in both, so up to one poll interval of each overhead is
polling granularity. Prints min/median/max per path over ``--repeat`` launches and the
ratio (a)/(b) of the medians.

    python benchmarks/emr_launch_overhead.py [--repeat 5] [--poll 0.25]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3
import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dagster_aws.pipes import PipesEMRServerlessClient  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.emrserverless import responses as serverless_responses  # noqa: E402
from moto.emrserverless import urls as serverless_urls  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from resources import site_of  # noqa: E402
from resources.emr.launch import EmrLauncher, stage  # noqa: E402
from resources.emr.serverless import execution_role_arn, serverless_application_id, serverless_start_params  # noqa: E402
from resources.spark_connect import SparkConnectServer  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.emr.conftest import QUICK_SCRIPT, build_infra, dev_config, one_asset  # noqa: E402
from tests.emr.harness import EmrSimulator  # noqa: E402


def _dashboard(self) -> ActionResult:  # the stock client asks for it; moto lacks it
    return ActionResult({"url": "https://example.invalid/dashboard"})


def timed_launches(simulator: EmrSimulator, job: dg.JobDefinition, repeat: int) -> list[float]:
    """Overhead of each of ``repeat`` launches: the launcher's wall time minus the script's."""
    walls: list[float] = []
    original = EmrLauncher.launch

    def launch(self, context, spark_job):
        started = time.monotonic()
        try:
            return original(self, context, spark_job)
        finally:
            walls.append(time.monotonic() - started)

    EmrLauncher.launch = launch
    try:
        for _ in range(repeat):
            before = set(simulator.executions)
            assert job.execute_in_process(raise_on_error=False).success
            (new,) = set(simulator.executions) - before
            walls[-1] -= simulator.executions[new].seconds
    finally:
        EmrLauncher.launch = original
    return walls


def stock_launches(simulator: EmrSimulator, config, tmp: Path, repeat: int, poll: float) -> list[float]:
    """Overhead of dagster-aws's ``PipesEMRServerlessClient`` running the same script."""
    script = tmp / "stock" / "job.py"
    script.parent.mkdir()
    script.write_text(QUICK_SCRIPT)
    s3 = boto3.client("s3")
    staged = stage(s3, config.lake.artifacts_root, "data-engineering", script)
    application_id = serverless_application_id(config, "data-engineering")
    role = execution_role_arn(config, "data-engineering")
    overheads: list[float] = []

    @dg.asset(key=["data-engineering", "stock", "t"])
    def stock(context):
        request = serverless_start_params(
            config.emr_serverless, site_of(config), _spark_job(config, tmp), application_id=application_id, execution_role_arn=role,
            script_uri=staged.script_uri, py_files_uri=staged.py_files_uri, client_token=context.run.run_id,
        )
        extras = {"asset_key": "data-engineering/stock/t", "inputs": {}, "output": str(tmp / "stock-out"),
                  "checks": [], "params": {}}
        client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"), poll_interval=poll)
        before = set(simulator.executions)
        started = time.monotonic()
        results = client.run(context=context, start_job_run_params=request, extras=extras).get_results()
        (new,) = set(simulator.executions) - before
        overheads.append(time.monotonic() - started - simulator.executions[new].seconds)
        return results[0]

    for _ in range(repeat):
        assert dg.materialize([stock]).success
    return overheads


def _spark_job(config, tmp: Path):
    from emr_platform.launcher import SparkJob

    return SparkJob(
        team="data-engineering", asset_key=dg.AssetKey(["data-engineering", "stock", "t"]), script=tmp / "job.py",
        inputs={}, output=str(tmp / "stock-out"), size_name="medium", size=config.job_sizes["medium"], checks=[],
        params={}, timeout_seconds=600, tags={"team": "data-engineering", "asset": "data-engineering/stock/t"},
    )


def summary(name: str, values: list[float]) -> str:
    return (f"{name:<38} min {min(values):6.2f} s   median {statistics.median(values):6.2f} s   "
            f"max {max(values):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between state polls, both paths")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    serverless_responses.EMRServerlessResponse.get_dashboard_for_job_run = _dashboard
    serverless_urls.url_paths["{0}/applications/(?P<applicationId>[^/]+)/jobruns/(?P<jobRunId>[^/]+)/dashboard$"] = (
        serverless_responses.EMRServerlessResponse.dispatch
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint})
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        spark = SparkConnectServer(tmp / "connect")
        config = dev_config(tmp / "lake")
        config = config.model_copy(update={
            "emr_serverless": config.emr_serverless.model_copy(update={"poll_interval_seconds": args.poll}),
            "emr_classic": config.emr_classic.model_copy(update={"poll_interval_seconds": args.poll}),
        })
        build_infra(config)
        try:
            with spark.lease() as url, EmrSimulator(endpoint, url) as simulator:
                serverless_job, _ = one_asset(config, "data-engineering", tmp / "serverless", QUICK_SCRIPT)
                classic = config.model_copy(update={"execution": config.execution.model_copy(
                    update={"force_substrate": "emr-classic"})})
                classic_job, _ = one_asset(classic, "analytics", tmp / "classic", QUICK_SCRIPT)
                timed_launches(simulator, serverless_job, 1)  # warm-up: staging, imports, Spark session
                results = {
                    "(a) EmrServerlessLauncher": timed_launches(simulator, serverless_job, args.repeat),
                    "(a) EmrClassicLauncher (transient)": timed_launches(simulator, classic_job, args.repeat),
                    "(b) dagster-aws PipesEMRServerlessClient": stock_launches(
                        simulator, config, tmp, args.repeat, args.poll),
                }
        finally:
            spark.stop()
            server.stop()
    print(f"fixed overhead per launch (wall time minus the script's own), poll every {args.poll} s, "
          f"{args.repeat} launches each")
    for name, values in results.items():
        print(summary(name, values))
    baseline = statistics.median(results["(b) dagster-aws PipesEMRServerlessClient"])
    for name in ("(a) EmrServerlessLauncher", "(a) EmrClassicLauncher (transient)"):
        print(f"ratio {name} / (b), medians: {statistics.median(results[name]) / baseline:.3f}")


if __name__ == "__main__":
    main()
