"""Local Spark: jobs on this machine, through one warm Spark Connect server or a session per job."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emr_platform.settings import SettingsModel
from emr_platform.substrates.descriptor import Substrate


class LocalSparkSettings(SettingsModel):
    """Local Spark: ``connect`` shares one warm Spark Connect server; ``classic`` starts a session per job."""

    mode: Literal["connect", "classic"] = "connect"
    cores: int = Field(2, ge=1, le=64, description="local[N] threads of the Spark driver.")
    driver_memory_gb: int = Field(2, ge=1, le=64)
    idle_timeout_seconds: int = Field(900, ge=10, description="Stop the Connect server after this long unused.")
    shuffle_partitions: int = Field(4, ge=1)
    class_data_sharing: bool = Field(
        True,
        description="Record a Java class-data-sharing archive of the Connect server once and map it at later "
        "starts (a start about 3 s faster on 2 cores); false: neither record nor map one.",
    )
    code_generation: bool = Field(
        False,
        description="Let the Connect server compile queries to Java bytecode (Spark's whole-stage and expression "
        "code generation). Off, it evaluates them interpreted: on the small data of local runs, compiling each "
        "new query on a JVM still warming up cost more than it saved (the demo's month 8% faster from a "
        "stopped server, 10% with it running, on 2 cores). Classic sessions keep Spark's default.",
    )
    java_options: str = Field(
        "",
        description="Extra options of local Spark's JVMs: the Connect server's and each classic session's driver, "
        "e.g. `-XX:TieredStopAtLevel=1` (C1 alone: a JVM that lives for a few jobs, as in CI, spends less CPU "
        "compiling; a warm server runs slower with it: benchmarks/README.md).",
    )
    forkserver: bool = Field(
        True,
        description="Start each job script as a fork of a Python process that has imported pyspark and "
        "dagster-pipes once, instead of a new Python process (about 1 CPU-second less per job on 2 cores); the "
        "script runs as with `python <script>`: docs/local-spark.md.",
    )
    state_dir: str = Field(".spark/connect", description="Where the Connect server keeps its state and log.")


SUBSTRATE = Substrate(
    name="local",
    config_key="local_spark",
    settings=LocalSparkSettings,
    default_settings=LocalSparkSettings(),
    needs_s3_roots=False,
)
