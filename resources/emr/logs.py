"""Driver logs of EMR job runs and steps, read once the job has ended.

EMR writes them to S3 (gzip) and, for EMR Serverless with CloudWatch logging, to a log
stream too. Reading them once after the end, instead of dagster-aws's log readers that
poll a target until it exists, costs nothing when the logs are there and at most
``wait_seconds`` when they are not.

Locations (AWS docs, "Viewing log files" for EMR on EC2; "Storing logs" for EMR Serverless):

- EMR Serverless S3: ``<logUri>/applications/<app>/jobs/<job run>/SPARK_DRIVER/{stdout,stderr}.gz``
- EMR Serverless CloudWatch: group from the job run, stream
  ``/applications/<app>/jobs/<job run>/SPARK_DRIVER/{stdout,stderr}``
- EMR on EC2 step: ``<LogUri><cluster>/steps/<step>/{stdout,stderr}.gz``; in cluster deploy
  mode the driver is YARN container 1 of the application the step submitted:
  ``<LogUri><cluster>/containers/<application>/<container ..._01_000001>/{stdout,stderr}.gz``
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from emr_platform.prefixes import S3Prefix

APPLICATION_ID = re.compile(r"application_\d+_\d+")
POLL_SECONDS = 0.5


def read_s3_text(s3: Any, uri: str) -> str | None:
    """The text of an S3 object (gunzipped when the key ends in ``.gz``), or None if it does not exist."""
    location = S3Prefix.from_uri(uri)
    bucket, key = location.bucket, location.key
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NoSuchBucket"):
            return None
        raise
    return (gzip.decompress(body) if key.endswith(".gz") else body).decode("utf-8", errors="replace")


def read_cloudwatch_text(logs: Any, group: str, stream: str) -> str | None:
    """All events of a CloudWatch log stream as text, or None if the stream does not exist."""
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    try:
        while True:
            page = logs.get_log_events(**kwargs)
            lines += [event["message"] for event in page["events"]]
            if not page["events"] or page.get("nextForwardToken") in (None, kwargs.get("nextToken")):
                break
            kwargs["nextToken"] = page["nextForwardToken"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    return "\n".join(lines)


def wait_for(read: Callable[[], str | None], wait_seconds: float) -> str | None:
    """``read()`` until it returns text or ``wait_seconds`` have passed; None if it never did."""
    deadline = time.monotonic() + wait_seconds
    while True:
        text = read()
        if text is not None or time.monotonic() >= deadline:
            return text
        time.sleep(POLL_SECONDS)


def monitoring_configuration(application: dict[str, Any], job_run: dict[str, Any]) -> dict[str, Any]:
    """Where a job run's logs go: the application's ``monitoringConfiguration`` (set by infra)
    overridden, section by section and key by key, by the job run's ``configurationOverrides``,
    as EMR Serverless merges them ("Logging", EMR Serverless user guide, read 2026-11-26)."""
    merged: dict[str, Any] = {}
    base = application.get("monitoringConfiguration") or {}
    override = (job_run.get("configurationOverrides") or {}).get("monitoringConfiguration") or {}
    for section in set(base) | set(override):
        merged[section] = {**(base.get(section) or {}), **(override.get(section) or {})}
    return merged


def serverless_driver_log(
    s3: Any, logs: Any, job_run: dict[str, Any], stream: str, wait_seconds: float, application: dict[str, Any] | None = None
) -> str | None:
    """``stream`` (``stdout`` or ``stderr``) of a job run's Spark driver, from S3 else CloudWatch;
    ``application`` is the job run's application as ``get_application`` describes it."""
    app, job = job_run["applicationId"], job_run["jobRunId"]
    monitoring = monitoring_configuration(application or {}, job_run)
    log_uri = (monitoring.get("s3MonitoringConfiguration") or {}).get("logUri")
    cloudwatch = monitoring.get("cloudWatchLoggingConfiguration") or {}
    path = f"applications/{app}/jobs/{job}/SPARK_DRIVER/{stream}"

    def read() -> str | None:
        text = read_s3_text(s3, f"{log_uri.rstrip('/')}/{path}.gz") if log_uri else None
        if text is None and cloudwatch.get("enabled"):
            group = cloudwatch.get("logGroupName") or "/aws/emr-serverless"
            text = read_cloudwatch_text(logs, group, cloudwatch.get("logStreamNamePrefix", "") + "/" + path)
        return text

    return wait_for(read, wait_seconds)


def step_logs(s3: Any, log_uri: str, cluster_id: str, step_id: str, wait_seconds: float) -> dict[str, str]:
    """``{"step stdout" | "step stderr" | "driver stdout" | "driver stderr": text}`` of an EMR step,
    whichever exist. The driver's logs are found through the application ID the step's stderr names;
    a cluster without ``containers/`` logs simply has none (no ``KeyError: 'Contents'``)."""
    base = f"{log_uri.rstrip('/')}/{cluster_id}"
    found: dict[str, str] = {}
    stderr = wait_for(lambda: read_s3_text(s3, f"{base}/steps/{step_id}/stderr.gz"), wait_seconds)
    if stderr is not None:
        found["step stderr"] = stderr
    stdout = read_s3_text(s3, f"{base}/steps/{step_id}/stdout.gz")
    if stdout is not None:
        found["step stdout"] = stdout
    application = APPLICATION_ID.search(stderr or "")
    if application:
        containers = S3Prefix.from_uri(f"{base}/containers/{application.group()}/")
        bucket, prefix = containers.bucket, containers.key
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
        for item in listing.get("Contents", []):
            key = item["Key"]
            container, name = key.split("/")[-2:]
            if container.endswith("_01_000001") and name in ("stdout.gz", "stderr.gz"):
                text = read_s3_text(s3, f"s3://{bucket}/{key}")
                if text is not None:
                    found[f"driver {name.removesuffix('.gz')}"] = text
    return found
