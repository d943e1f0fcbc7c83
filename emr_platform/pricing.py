"""Prices of the Spark substrates (us-east-1, USD) and the cost of one launch's usage.

Pure: no I/O. Every price names its source page and the date it was read there, or is marked
unverified (see :class:`Price`); re-check them against the sources when they matter (AWS
changes prices rarely, and by announcement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emr_platform.settings import CostSettings

REGION = "us-east-1"
MINIMUM_WORKER_SECONDS = 60.0  # EMR Serverless and EMR on EC2 bill per second, 1 minute minimum per worker
DEFAULT_SPOT_DISCOUNT: float = CostSettings.model_fields["spot_discount"].default  # config cost.spot_discount
HOURS_PER_MONTH = 730.0  # AWS prorates GB-month prices over the hours of a month; 730 is its average


@dataclass(frozen=True)
class Price:
    """One price in USD per ``unit``, with the page it comes from and the ISO date it was read
    there. ``read`` is None for a figure nobody has checked against its page yet: such a price
    is *unverified*, and every cost computed with it says so (metadata ``price_verified``)."""

    usd: float
    unit: str
    source: str
    read: str | None = None

    @property
    def verified(self) -> bool:
        return self.read is not None


# None of these figures could be checked against their pages when they were last edited
# (2026-11-26: this repository's machines reach no AWS page), so all are marked unverified;
# set ``read`` to the date you compare a figure with its page.
SERVERLESS_SOURCE = "https://aws.amazon.com/emr/pricing/#Amazon_EMR_Serverless"
SERVERLESS_PRICES: dict[str, dict[str, Price]] = {
    "X86_64": {
        "vcpu": Price(0.052624, "vCPU-hour", SERVERLESS_SOURCE),
        "memory": Price(0.0057785, "GB-hour", SERVERLESS_SOURCE),
    },
    # Graviton (arm64): about 20% below x86 ("Amazon EMR Serverless architecture options").
    "ARM64": {
        "vcpu": Price(0.042094, "vCPU-hour", SERVERLESS_SOURCE),
        "memory": Price(0.004628, "GB-hour", SERVERLESS_SOURCE),
    },
}
SERVERLESS_VCPU_HOUR = SERVERLESS_PRICES["X86_64"]["vcpu"]
SERVERLESS_MEMORY_GB_HOUR = SERVERLESS_PRICES["X86_64"]["memory"]
# Ephemeral storage beyond the 20 GB every worker gets free; the same on both architectures.
SERVERLESS_STORAGE_GB_HOUR = Price(0.000111, "GB-hour", SERVERLESS_SOURCE)

EC2_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/"
EMR_SOURCE = "https://aws.amazon.com/emr/pricing/"
EBS_SOURCE = "https://aws.amazon.com/ebs/pricing/"
# gp3, which EMR attaches to EBS-only instance types from release 6.15 on.
EBS_GB_MONTH = Price(0.08, "GB-month", EBS_SOURCE)
# What EMR attaches by default to an EBS-only instance, by size (GiB of EBS volumes, root volume
# of 15 GiB included): "Default Amazon EBS storage for instances", Amazon EMR Management Guide,
# https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-plan-storage.html (unverified).
DEFAULT_EBS_GB = {"xlarge": 64 + 15, "2xlarge": 128 + 15, "4xlarge": 256 + 15}


@dataclass(frozen=True)
class InstancePrice:
    """EMR on EC2 price of one instance type per hour: EC2 on-demand plus the EMR surcharge,
    and ``ebs_gb``, the EBS storage (GiB) EMR attaches to it by default."""

    ec2: Price
    emr: Price
    ebs_gb: float

    def hourly(self, market: str, spot_discount: float) -> float:
        """USD per instance-hour in ``market`` (``ON_DEMAND`` or ``SPOT``); Spot discounts EC2 only."""
        ec2 = self.ec2.usd * (1 - spot_discount) if market.upper() == "SPOT" else self.ec2.usd
        return ec2 + self.emr.usd

    @property
    def verified(self) -> bool:
        return self.ec2.verified and self.emr.verified


def _instance(instance_type: str, ec2: float, emr: float) -> InstancePrice:
    size = instance_type.split(".")[1]
    return InstancePrice(
        Price(ec2, "instance-hour", EC2_SOURCE), Price(emr, "instance-hour", EMR_SOURCE), DEFAULT_EBS_GB[size]
    )


# Linux on-demand, us-east-1. Keep in step with the instance types config.yml uses (emr_classic):
# config validation refuses a type without a price here.
INSTANCE_PRICES: dict[str, InstancePrice] = {
    name: _instance(name, ec2, emr)
    for name, ec2, emr in (
        ("m5.xlarge", 0.192, 0.048),
        ("m5.2xlarge", 0.384, 0.096),
        ("m5.4xlarge", 0.768, 0.192),
        ("m6i.xlarge", 0.192, 0.048),
        ("m6i.2xlarge", 0.384, 0.096),
        ("r5.xlarge", 0.252, 0.063),
        ("r5.2xlarge", 0.504, 0.126),
        ("r5.4xlarge", 1.008, 0.252),
        ("c5.xlarge", 0.17, 0.043),
        ("c5.2xlarge", 0.34, 0.085),
        ("m6g.xlarge", 0.154, 0.0385),
        ("m6g.2xlarge", 0.308, 0.077),
        ("m7g.xlarge", 0.1632, 0.0408),
        ("m7g.2xlarge", 0.3264, 0.0816),
    )
}


@dataclass(frozen=True)
class Usage:
    """What one launch consumed, as the substrate bills it (or, locally, as held).

    Hours are resource-hours: ``vcpu_hours`` in vCPU-hours, ``memory_gb_hours`` in
    GB-hours, ``storage_gb_hours`` in GB-hours (EMR Serverless storage beyond the free 20 GB,
    or EMR on EC2's EBS volumes); ``instance_seconds`` maps ``"<instance type>/<market>"``
    (market ``ON_DEMAND`` or ``SPOT``) to seconds summed over instances, and ``instances``
    lists each instance's ``(key, seconds)`` (the 1-minute minimum is per instance; when
    ``instances`` is empty each key counts as one instance). ``minimum_applies`` is False for
    a share of a shared cluster (AWS bills the cluster, not the step). ``architecture`` is the
    EMR Serverless application's (``X86_64`` or ``ARM64``). ``billed`` is True when the
    figures come from AWS (e.g. EMR Serverless ``billedResourceUtilization``), False when
    estimated from what the job held (locally: one worker, so the minimum per job is the
    minimum per worker).
    """

    substrate: str
    job_seconds: float
    vcpu_hours: float = 0.0
    memory_gb_hours: float = 0.0
    storage_gb_hours: float = 0.0
    instance_seconds: dict[str, float] = field(default_factory=dict)
    billed: bool = False
    spot_discount: float | None = None  # config cost.spot_discount; None: emr_platform.pricing's default
    instances: tuple[tuple[str, float], ...] = ()
    minimum_applies: bool = True
    architecture: str = "X86_64"

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


def serverless_cost(
    vcpu_hours: float, memory_gb_hours: float, storage_gb_hours: float = 0.0, architecture: str = "X86_64"
) -> float:
    """USD of EMR Serverless usage on ``architecture`` (``X86_64`` or ``ARM64``);
    ``storage_gb_hours`` counts only storage beyond the free 20 GB per worker."""
    prices = SERVERLESS_PRICES[architecture]
    return (
        vcpu_hours * prices["vcpu"].usd
        + memory_gb_hours * prices["memory"].usd
        + storage_gb_hours * SERVERLESS_STORAGE_GB_HOUR.usd
    )


def billable_seconds(seconds: float) -> float:
    """Seconds one worker is billed for: per second, at least one minute."""
    return max(seconds, MINIMUM_WORKER_SECONDS)


def _price_of(key: str) -> tuple[InstancePrice, str]:
    instance_type, sep, market = key.partition("/")
    if not sep or market.upper() not in ("ON_DEMAND", "SPOT"):
        raise ValueError(f"instance_seconds key {key!r}: expected '<instance type>/ON_DEMAND|SPOT'")
    if instance_type not in INSTANCE_PRICES:
        raise UnknownInstanceType(instance_type)
    return INSTANCE_PRICES[instance_type], market


def instance_cost(
    instances: dict[str, float] | tuple[tuple[str, float], ...],
    spot_discount: float = DEFAULT_SPOT_DISCOUNT,
    minimum: bool = True,
) -> float:
    """USD of EMR on EC2 instances (EC2 plus the EMR surcharge): ``{"<type>/<market>": seconds}``
    or ``((key, seconds), ...)``, each entry one instance, billed at least a minute if ``minimum``.

    Raises :class:`UnknownInstanceType` for a type without a price and ``ValueError`` for a
    key that is not ``type/market``.
    """
    entries = instances.items() if isinstance(instances, dict) else instances
    total = 0.0
    for key, seconds in entries:
        price, market = _price_of(key)
        billed = billable_seconds(seconds) if minimum else seconds
        total += billed / 3600 * price.hourly(market, spot_discount)
    return total


def ebs_gb_hours(instances: dict[str, float] | tuple[tuple[str, float], ...]) -> float:
    """GB-hours of the EBS storage EMR attaches by default to the instances (see :func:`instance_cost`)."""
    entries = instances.items() if isinstance(instances, dict) else instances
    return sum(_price_of(key)[0].ebs_gb * seconds / 3600 for key, seconds in entries)


def ebs_cost(gb_hours: float) -> float:
    """USD of ``gb_hours`` of gp3 EBS storage."""
    return gb_hours * EBS_GB_MONTH.usd / HOURS_PER_MONTH


def prices_used(usage: Usage) -> list[Price]:
    """The prices :func:`usage_cost` applies to ``usage``."""
    used: list[Price] = []
    for key in usage.instance_seconds:
        price, _ = _price_of(key)
        used += [price.ec2, price.emr]
    if usage.instance_seconds and usage.storage_gb_hours:
        used.append(EBS_GB_MONTH)
    if usage.vcpu_hours or usage.memory_gb_hours:
        used += list(SERVERLESS_PRICES[usage.architecture].values())
    if usage.storage_gb_hours and not usage.instance_seconds:
        used.append(SERVERLESS_STORAGE_GB_HOUR)
    return used


def usage_cost(usage: Usage, spot_discount: float = DEFAULT_SPOT_DISCOUNT) -> tuple[float, str]:
    """``(USD, basis)`` of one launch's :class:`Usage`.

    Billed usage (AWS already applied its minimums) is priced as reported. Instances are billed
    at least a minute each, except a shared cluster's step share. Held usage of a job shorter
    than a minute is scaled up to the 1-minute minimum. EMR on EC2's ``storage_gb_hours`` are
    its EBS volumes. Local runs are priced as the EMR Serverless equivalent of the vCPU and
    memory they held (basis ``emr-serverless-equivalent``).
    """
    cost = instance_cost(usage.instances or usage.instance_seconds, spot_discount, minimum=usage.minimum_applies)
    scale = 1.0
    if not usage.billed and 0 < usage.job_seconds < MINIMUM_WORKER_SECONDS:
        scale = MINIMUM_WORKER_SECONDS / usage.job_seconds
    if usage.instance_seconds:
        cost += ebs_cost(usage.storage_gb_hours)
        storage = 0.0
    else:
        storage = usage.storage_gb_hours * scale
    cost += serverless_cost(usage.vcpu_hours * scale, usage.memory_gb_hours * scale, storage, usage.architecture)
    if usage.substrate == "local":
        basis = BASIS_SERVERLESS_EQUIVALENT
    else:
        basis = BASIS_BILLED if usage.billed else BASIS_ESTIMATED
    return cost, basis


def cost_metadata(usage: Usage, spot_discount: float = DEFAULT_SPOT_DISCOUNT) -> dict[str, Any]:
    """``cost_usd`` (float, USD), ``cost_basis``, ``price_region`` and ``price_verified`` (False when
    any price applied is unverified, see :class:`Price`): materialization metadata of one launch.

    An instance type without a price yields ``cost_error`` instead of ``cost_usd``, so a
    finished job's materialization is never lost to a missing price.
    """
    try:
        cost, basis = usage_cost(usage, spot_discount)
        verified = all(price.verified for price in prices_used(usage))
    except ValueError as exc:  # UnknownInstanceType or a malformed instance key
        return {"cost_error": str(exc), "price_region": REGION}
    return {"cost_usd": round(cost, 6), "cost_basis": basis, "price_region": REGION, "price_verified": verified}
