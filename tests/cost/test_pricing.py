"""Prices of launches, against figures computed by hand from the AWS price pages."""

from __future__ import annotations

import pytest

from emr_platform import pricing
from emr_platform.pricing import Usage


def test_serverless_cost_by_hand():
    # 4 vCPU and 16 GB for 30 minutes, 10 GB-hours of storage beyond the free 20 GB:
    # 2 * 0.052624 + 8 * 0.0057785 + 10 * 0.000111 = 0.105248 + 0.046228 + 0.00111
    assert pricing.serverless_cost(2, 8, 10) == pytest.approx(0.152586)


def test_local_run_is_priced_as_emr_serverless_equivalent_with_one_minute_minimum():
    # 2 cores and 4 GB held for 30 s are billed as 60 s: 2/60 vCPU-h and 4/60 GB-h.
    usage = Usage("local", job_seconds=30, vcpu_hours=2 * 30 / 3600, memory_gb_hours=4 * 30 / 3600)
    metadata = usage.metadata()
    assert metadata["cost_usd"] == pytest.approx(2 / 60 * 0.052624 + 4 / 60 * 0.0057785, abs=1e-6)
    assert metadata["cost_basis"] == "emr-serverless-equivalent"
    longer = Usage("local", job_seconds=120, vcpu_hours=2 * 120 / 3600, memory_gb_hours=4 * 120 / 3600)
    assert longer.metadata()["cost_usd"] == pytest.approx(2 * metadata["cost_usd"], abs=2e-6)


def test_billed_usage_is_priced_as_reported():
    usage = Usage("emr-serverless", job_seconds=10, vcpu_hours=1, memory_gb_hours=4, billed=True)
    assert pricing.usage_cost(usage) == (pytest.approx(0.052624 + 4 * 0.0057785), pricing.BASIS_BILLED)


def test_emr_on_ec2_on_demand_spot_and_minimum():
    # m5.xlarge: EC2 0.192 + EMR 0.048 per hour. One hour on demand: 0.24.
    assert pricing.instance_cost({"m5.xlarge/ON_DEMAND": 3600}) == pytest.approx(0.24)
    # Spot at 60% off takes EC2 to 0.0768; the EMR surcharge stays 0.048.
    assert pricing.instance_cost({"m5.xlarge/SPOT": 3600}, spot_discount=0.6) == pytest.approx(0.1248)
    assert pricing.instance_cost({"m5.xlarge/SPOT": 3600}, spot_discount=0.0) == pytest.approx(0.24)
    # 10 seconds are billed as one minute: 0.24 / 60.
    assert pricing.instance_cost({"m5.xlarge/ON_DEMAND": 10}) == pytest.approx(0.004)


def test_usage_spot_discount_comes_from_the_launch():
    usage = Usage("emr-classic", job_seconds=3600, instance_seconds={"r5.2xlarge/SPOT": 3600}, spot_discount=0.5)
    assert usage.metadata()["cost_usd"] == pytest.approx(0.504 * 0.5 + 0.126)


@pytest.mark.parametrize("instance_type", ["m5.xlarge", "m5.2xlarge", "r5.xlarge", "r5.2xlarge", "c5.xlarge", "m6g.xlarge", "m7g.xlarge"])
def test_config_instance_types_have_sourced_prices(instance_type):
    price = pricing.INSTANCE_PRICES[instance_type]
    assert price.ec2.source.startswith("https://aws.amazon.com/") and price.emr.source.startswith("https://aws.amazon.com/")
    # No placeholder date: a price is read on a date from its page, or marked unverified.
    assert price.ec2.read is None or len(price.ec2.read) == 10
    assert price.verified == (price.ec2.read is not None and price.emr.read is not None)
    assert price.emr.usd < price.ec2.usd


def test_unknown_instance_type_keeps_the_materialization_and_names_the_fix():
    with pytest.raises(pricing.UnknownInstanceType, match="add it to emr_platform/pricing.py"):
        pricing.instance_cost({"x9.huge/ON_DEMAND": 60})
    metadata = Usage("emr-classic", 60, instance_seconds={"x9.huge/ON_DEMAND": 60}).metadata()
    assert "cost_usd" not in metadata and "x9.huge" in metadata["cost_error"]
    with pytest.raises(ValueError, match="ON_DEMAND"):
        pricing.instance_cost({"m5.xlarge": 60})


def test_the_minimum_is_per_instance_and_not_on_a_shared_clusters_share():
    # Two m5.xlarge instances of 30 s each: two minutes billed, not one (the aggregate key's 60 s).
    per_instance = pricing.Usage(
        "emr-classic", 30, instance_seconds={"m5.xlarge/ON_DEMAND": 60},
        instances=(("m5.xlarge/ON_DEMAND", 30), ("m5.xlarge/ON_DEMAND", 30)),
    )
    assert pricing.usage_cost(per_instance)[0] == pytest.approx(2 * 0.24 / 60)
    # A step's 10 s share of a shared cluster is billed as 10 s: AWS bills the cluster, not the step.
    share = pricing.Usage(
        "emr-classic", 10, instance_seconds={"m5.xlarge/ON_DEMAND": 10},
        instances=(("m5.xlarge/ON_DEMAND", 10),), minimum_applies=False,
    )
    assert pricing.usage_cost(share)[0] == pytest.approx(0.24 * 10 / 3600)


def test_ebs_of_emr_on_ec2_is_priced_and_m6i_has_a_price():
    hours = pricing.ebs_gb_hours((("m6i.xlarge/ON_DEMAND", 3600),))
    assert hours == pytest.approx(pricing.INSTANCE_PRICES["m6i.xlarge"].ebs_gb) and hours > 0
    usage = pricing.Usage("emr-classic", 3600, storage_gb_hours=hours, instance_seconds={"m6i.xlarge/ON_DEMAND": 3600})
    metadata = usage.metadata()
    assert "cost_error" not in metadata
    assert metadata["cost_usd"] == pytest.approx(0.24 + hours * 0.08 / 730, abs=1e-6)


def test_graviton_serverless_is_cheaper_and_unverified_prices_say_so():
    x86 = pricing.Usage("emr-serverless", 60, vcpu_hours=1, memory_gb_hours=4, billed=True)
    arm = pricing.Usage("emr-serverless", 60, vcpu_hours=1, memory_gb_hours=4, billed=True, architecture="ARM64")
    assert pricing.usage_cost(arm)[0] < pricing.usage_cost(x86)[0]
    assert arm.metadata()["price_verified"] is all(p.verified for p in pricing.SERVERLESS_PRICES["ARM64"].values())
