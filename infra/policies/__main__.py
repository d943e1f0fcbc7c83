"""Entry point of the policy pack: ``pulumi preview --stack prod --policy-pack infra/policies``."""

from pulumi_policy import EnforcementLevel, PolicyPack

from rules import POLICIES

PolicyPack(name="emr-platform-security", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
