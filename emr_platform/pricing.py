"""Prices of the Spark substrates (us-east-1, USD) and the cost of one launch's usage.

Pure: no I/O. Every price names its source and the date it was taken from that source.
Figures were copied from the AWS price pages; this machine has no network, so re-check
them against the sources when they matter (AWS changes prices rarely, and by announcement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emr_platform.settings import CostSettings

REGION = "us-east-1"
MINIMUM_WORKER_SECONDS = 60.0  # EMR Serverless and EMR on EC2 bill per second, 1 minute minimum per worker
DEFAULT_SPOT_DISCOUNT: float = CostSettings.model_fields["spot_discount"].default  # config cost.spot_discount


@dataclass(frozen=True)
class Price:
    """One price in USD per ``unit``, with where and when it was read."""

    usd: float
    unit: str
    source: str
    effective: str  # ISO date of the price list the figure comes from


SERVERLESS_SOURCE = "https://aws.amazon.com/emr/pricing/#Amazon_EMR_Serverless"
SERVERLESS_VCPU_HOUR = Price(0.052624, "vCPU-hour", SERVERLESS_SOURCE, "2024-01-01")
SERVERLESS_MEMORY_GB_HOUR = Price(0.0057785, "GB-hour", SERVERLESS_SOURCE, "2024-01-01")
# Ephemeral storage beyond the 20 GB every worker gets free.
SERVERLESS_STORAGE_GB_HOUR = Price(0.000111, "GB-hour", SERVERLESS_SOURCE, "2024-01-01")

EC2_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/"
EMR_SOURCE = "https://aws.amazon.com/emr/pricing/"


@dataclass(frozen=True)
class InstancePrice:
    """EMR on EC2 price of one instance type per hour: EC2 on-demand plus the EMR surcharge."""

    ec2: Price
    emr: Price

    def hourly(self, market: str, spot_discount: float) -> float:
        """USD per instance-hour in ``market`` (``ON_DEMAND`` or ``SPOT``); Spot discounts EC2 only."""
        ec2 = self.ec2.usd * (1 - spot_discount) if market.upper() == "SPOT" else self.ec2.usd
        return ec2 + self.emr.usd


def _instance(ec2: float, emr: float) -> InstancePrice:
    return InstancePrice(Price(ec2, "instance-hour", EC2_SOURCE, "2024-01-01"), Price(emr, "instance-hour", EMR_SOURCE, "2024-01-01"))


# Linux on-demand, us-east-1. Keep in step with the instance types config.yml uses (emr_classic).
INSTANCE_PRICES: dict[str, InstancePrice] = {
    "m5.xlarge": _instance(0.192, 0.048),
    "m5.2xlarge": _instance(0.384, 0.096),
    "m5.4xlarge": _instance(0.768, 0.192),
    "r5.xlarge": _instance(0.252, 0.063),
    "r5.2xlarge": _instance(0.504, 0.126),
    "r5.4xlarge": _instance(1.008, 0.252),
    "c5.xlarge": _instance(0.17, 0.043),
    "c5.2xlarge": _instance(0.34, 0.085),
    "m6g.xlarge": _instance(0.154, 0.0385),
    "m6g.2xlarge": _instance(0.308, 0.077),
    "m7g.xlarge": _instance(0.1632, 0.0408),
    "m7g.2xlarge": _instance(0.3264, 0.0816),
}

@dataclass(frozen=True)
class Usage:
    """What one launch consumed, as the substrate bills it (or, locally, as held).

    Hours are resource-hours: ``vcpu_hours`` in vCPU-hours, ``memory_gb_hours`` in
    GB-hours, ``storage_gb_hours`` in GB-hours; ``instance_seconds`` maps
    ``"<instance type>/<market>"`` (market ``ON_DEMAND`` or ``SPOT``) to seconds.
    ``billed`` is True when the figures come from AWS (e.g. EMR Serverless
    ``billedResourceUtilization``), False when estimated from what the job held.
    """

    substrate: str
    job_seconds: float
    vcpu_hours: float = 0.0
    memory_gb_hours: float = 0.0
    storage_gb_hours: float = 0.0
    instance_seconds: dict[str, float] = field(default_factory=dict)
    billed: bool = False
    spot_discount: float | None = None  # config cost.spot_discount; None: emr_platform.pricing's default

    def metadata(self) -> dict[str, Any]:
        """Numeric materialization metadata (so the Dagster UI plots it over time), with
        ``cost_usd`` priced by :func:`cost_metadata`."""
        metadata: dict[str, Any] = {
            "substrate": self.substrate,
            "job_seconds": round(self.job_seconds, 3),
            "usage_billed": self.billed,
        }
        for name in ("vcpu_hours", "memory_gb_hours", "storage_gb_hours"):
            if getattr(self, name):
                metadata[name] = round(getattr(self, name), 6)
        if self.instance_seconds:
            metadata["instance_seconds"] = dict(self.instance_seconds)  # dagster stores a dict as JSON metadata
            metadata["instance_hours"] = round(sum(self.instance_seconds.values()) / 3600, 6)
        discount = DEFAULT_SPOT_DISCOUNT if self.spot_discount is None else self.spot_discount
        return {**metadata, **cost_metadata(self, discount)}



# What a cost figure is: billed usage priced, or held resources priced as if on EMR Serverless.
BASIS_BILLED = "billed-usage"
BASIS_ESTIMATED = "held-usage"
BASIS_SERVERLESS_EQUIVALENT = "emr-serverless-equivalent"


class UnknownInstanceType(ValueError):
    """An instance type without a price in :data:`INSTANCE_PRICES`."""

    def __init__(self, instance_type: str):
        super().__init__(f"no price for instance type {instance_type!r} (known: {', '.join(sorted(INSTANCE_PRICES))}); add it to emr_platform/pricing.py")


def serverless_cost(vcpu_hours: float, memory_gb_hours: float, storage_gb_hours: float = 0.0) -> float:
    """USD of EMR Serverless usage; ``storage_gb_hours`` counts only storage beyond the free 20 GB per worker."""
    return (
        vcpu_hours * SERVERLESS_VCPU_HOUR.usd
        + memory_gb_hours * SERVERLESS_MEMORY_GB_HOUR.usd
        + storage_gb_hours * SERVERLESS_STORAGE_GB_HOUR.usd
    )


def billable_seconds(seconds: float) -> float:
    """Seconds one worker is billed for: per second, at least one minute."""
    return max(seconds, MINIMUM_WORKER_SECONDS)


def instance_cost(instance_seconds: dict[str, float], spot_discount: float = DEFAULT_SPOT_DISCOUNT) -> float:
    """USD of EMR on EC2 instances: ``{"<instance type>/<market>": seconds}``, each entry billed at least a minute.

    Raises :class:`UnknownInstanceType` for a type without a price and ``ValueError`` for a
    key that is not ``type/market``.
    """
    total = 0.0
    for key, seconds in instance_seconds.items():
        instance_type, sep, market = key.partition("/")
        if not sep or market.upper() not in ("ON_DEMAND", "SPOT"):
            raise ValueError(f"instance_seconds key {key!r}: expected '<instance type>/ON_DEMAND|SPOT'")
        if instance_type not in INSTANCE_PRICES:
            raise UnknownInstanceType(instance_type)
        total += billable_seconds(seconds) / 3600 * INSTANCE_PRICES[instance_type].hourly(market, spot_discount)
    return total


def usage_cost(usage: Usage, spot_discount: float = DEFAULT_SPOT_DISCOUNT) -> tuple[float, str]:
    """``(USD, basis)`` of one launch's :class:`Usage`.

    Billed usage (AWS already applied its minimums) is priced as reported. Held usage of a
    job shorter than a minute is scaled up to the 1-minute minimum. Local runs are priced
    as the EMR Serverless equivalent of the vCPU and memory they held (basis
    ``emr-serverless-equivalent``).
    """
    cost = instance_cost(usage.instance_seconds, spot_discount)
    scale = 1.0
    if not usage.billed and 0 < usage.job_seconds < MINIMUM_WORKER_SECONDS:
        scale = MINIMUM_WORKER_SECONDS / usage.job_seconds
    cost += serverless_cost(usage.vcpu_hours * scale, usage.memory_gb_hours * scale, usage.storage_gb_hours * scale)
    if usage.substrate == "local":
        basis = BASIS_SERVERLESS_EQUIVALENT
    else:
        basis = BASIS_BILLED if usage.billed else BASIS_ESTIMATED
    return cost, basis


def cost_metadata(usage: Usage, spot_discount: float = DEFAULT_SPOT_DISCOUNT) -> dict[str, Any]:
    """``cost_usd`` (float, USD), ``cost_basis`` and ``price_region``: materialization metadata of one launch.

    An instance type without a price yields ``cost_error`` instead of ``cost_usd``, so a
    finished job's materialization is never lost to a missing price.
    """
    try:
        cost, basis = usage_cost(usage, spot_discount)
    except ValueError as exc:  # UnknownInstanceType or a malformed instance key
        return {"cost_error": str(exc), "price_region": REGION}
    return {"cost_usd": round(cost, 6), "cost_basis": basis, "price_region": REGION}
