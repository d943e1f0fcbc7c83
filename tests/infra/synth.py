"""Synthesize the Pulumi program under ``pulumi.runtime.set_mocks`` and record every resource.

The mock monitor is Pulumi's own (``MockMonitor``); we only note each registration's parent
and provider so the policies receive the same ``PolicyResource`` graph the engine would give them.
"""

from __future__ import annotations

import asyncio

import contextvars
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from emr_platform.config import REPO_ROOT, load_config

ACCOUNT_ID = "123456789012"
PROJECT = "emr-platform"
DB_PASSWORD = "test-only-password"


@dataclass
class Recorded:
    urn: str
    type: str
    name: str
    inputs: dict
    parent: str
    provider: str
    custom: bool
    outputs: dict = field(default_factory=dict)


@dataclass
class Synthesis:
    stage: str
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    def of_type(self, token: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == token]

    def names(self, token: str, key: str = "name") -> set[str]:
        return {r.inputs.get(key) for r in self.of_type(token)}

    def count(self, token: str) -> int:
        return len(self.of_type(token))

    def role_policies(self) -> dict[str, str]:
        """The inline access policy of every synthesized role, by role name (a role policy's ``role``
        is the role's ID, which AWS and the mocks make its name)."""
        return {p.inputs["role"]: p.inputs["policy"] for p in self.of_type("aws:iam/rolePolicy:RolePolicy")
                if p.name.endswith("-access")}

    def policy_resources(self) -> list[PolicyResource]:
        """The recorded resources as the policy engine's ``PolicyResource`` graph."""
        by_urn: dict[str, PolicyResource] = {}
        for r in self.resources:
            by_urn[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, _OPTIONS, None, None, [], {})
        providers = {r.urn: r for r in self.resources if r.type.startswith("pulumi:providers:")}
        for r in self.resources:
            resource = by_urn[r.urn]
            resource.parent = by_urn.get(r.parent)
            provider = providers.get(_provider_urn(r.provider))
            if provider is not None:
                resource.provider = PolicyProviderResource(provider.type, provider.inputs, provider.urn, provider.name)
        return list(by_urn.values())

    def stack_args(self, resources: list[PolicyResource] | None = None) -> StackValidationArgs:
        return StackValidationArgs(resources if resources is not None else self.policy_resources())

    def resource_args(self, resources: list[PolicyResource] | None = None) -> list[ResourceValidationArgs]:
        return [
            ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider)
            for r in (resources if resources is not None else self.policy_resources())
        ]


_OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _provider_urn(reference: str) -> str:
    # A provider reference is "<urn>::<id>"; URNs themselves contain "::".
    return reference.rsplit("::", 1)[0] if reference else ""


# AWS's own ARN formats where the generic one would be wrong in a way IAM checks care about
# (global services have no region; EMR Serverless applications are "/applications/<id>").
ARN_FORMATS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{name}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:aws:iam::{account}:instance-profile/{name}",
    "aws:emrserverless/application:Application": "arn:aws:emr-serverless:us-east-1:{account}:/applications/{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:us-east-1:{account}:log-group:{name}",
    "aws:secretsmanager/secret:Secret": "arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbCdEf",
}


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as outputs, plus the computed attributes the program reads (ARNs, IDs, DNS names)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        physical = inputs.get("name") or inputs.get("bucket") or inputs.get("identifier") or args.name
        service = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else "mock"
        arn = ARN_FORMATS.get(args.typ, "arn:aws:{service}:us-east-1:{account}:{kind}/{name}").format(
            service=service, account=ACCOUNT_ID, kind=args.typ.split(":")[-1].lower(), name=physical
        )
        state = {
            **inputs,
            "arn": arn,
            "keyId": f"key-{args.name}",
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/{physical}",
            "address": f"{physical}.rds.example",
            "dnsName": f"{args.name}.elb.example",
            "zoneId": "ZALB",
            "fqdn": f"{args.name}.example.com",
            "certificateArn": arn,
            "domainValidationOptions": [
                {"resourceRecordName": "_x.example.com", "resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm"}
            ],
        }
        # AWS uses the name as the ID of most resources (buckets, roles, log groups).
        return (physical if args.custom else ""), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/test", "userId": "x", "id": ACCOUNT_ID}, []
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ["us-east-1a", "us-east-1b"], "zoneIds": ["use1-az1", "use1-az2"], "id": "us-east-1"}, []
        if args.token == "aws:route53/getZone:getZone":
            return {"zoneId": "ZONE", "name": args.args.get("name"), "id": "ZONE"}, []
        raise NotImplementedError(f"no mock for invoke {args.token}")


class RecordingMonitor(MockMonitor):
    """Pulumi's mock monitor, also noting each resource's parent, provider and kind."""

    def __init__(self, mocks: RecordingMocks, synthesis: Synthesis):
        super().__init__(mocks)
        self.synthesis = synthesis

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.synthesis.resources.append(
                Recorded(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    parent=request.parent,
                    provider=request.provider,
                    custom=request.custom,
                    outputs=dict(self.resources[response.urn].state) if response.urn in self.resources else {},
                )
            )
        return response


def synthesize(
    stage: str, root: Path | str = REPO_ROOT, config: dict[str, str] | None = None, program: Callable[[], Any] | None = None
) -> Synthesis:
    """Run ``program`` (default: what ``infra/__main__.py`` does, with the config read from ``root``)
    for stack ``stage`` under mocks, in a fresh Pulumi context."""
    from infra.program import main

    synthesis = Synthesis(stage)
    stack_config = {"aws:region": "us-east-1", f"{PROJECT}:dagsterDbPassword": DB_PASSWORD, **(config or {})}

    def run() -> None:
        # Pulumi's mocks run on the current thread's event loop; a test before may have left the
        # thread without one (asyncio.run sets it to None when it returns).
        asyncio.set_event_loop(asyncio.new_event_loop())
        mocks = RecordingMocks()
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stage, preview=False,
                                 monitor=RecordingMonitor(mocks, synthesis))
        pulumi.runtime.set_all_config(stack_config, secret_keys=[f"{PROJECT}:dagsterDbPassword"])

        @pulumi.runtime.test
        def run_program() -> pulumi.Output:
            outputs = program() if program is not None else main(load_config(stage=pulumi.get_stack(), root=root))
            return pulumi.Output.from_input(outputs or {}).apply(synthesis.outputs.update)

        run_program()

    contextvars.Context().run(run)
    return synthesis


def evaluate(policy, synthesis: Synthesis, resources: list[PolicyResource] | None = None) -> list[str]:
    """Violations ``policy`` reports on the synthesized (or given) resources, as messages."""
    from pulumi_policy import ResourceValidationPolicy

    violations: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        violations.append(message)

    resources = resources if resources is not None else synthesis.policy_resources()
    if isinstance(policy, ResourceValidationPolicy):
        for args in synthesis.resource_args(resources):
            policy.validate(args, report)
    else:
        policy.validate(synthesis.stack_args(resources), report)
    return violations
