"""Spark Connect sessions on a team's EMR Serverless application (``interactiveConfiguration.sessionEnabled``).

The EMR Serverless API (``UpdateApplication``, ``InteractiveConfiguration.sessionEnabled``, release
emr-7.13.0 and later; API reference read 2026-11-26) has the switch, but pulumi-aws 7.51.1's
``emrserverless.Application`` knows only ``studio_enabled`` and ``livy_endpoint_enabled``. Until it
does, this dynamic resource sets the whole interactive configuration through ``UpdateApplication``
after the application exists, and turns sessions off again when it is deleted.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic


class _SessionsProvider(pulumi.dynamic.ResourceProvider):
    def _apply(self, props: dict[str, Any], enabled: bool) -> None:
        import boto3

        boto3.client("emr-serverless", region_name=props["region"]).update_application(
            applicationId=props["application_id"],
            interactiveConfiguration={"studioEnabled": True, "livyEndpointEnabled": True, "sessionEnabled": enabled},
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        self._apply(props, True)
        return pulumi.dynamic.CreateResult(id_=props["application_id"], outs=props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        self._apply(news, True)
        return pulumi.dynamic.UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._apply(props, False)


class ApplicationSessions(pulumi.dynamic.Resource):
    """Sessions enabled on application ``application_id`` in ``region`` (with Studio and Livy, as for
    every interactive team)."""

    application_id: pulumi.Output[str]

    def __init__(self, name: str, application_id: pulumi.Input[str], region: str, opts: pulumi.ResourceOptions):
        super().__init__(_SessionsProvider(), name, {"application_id": application_id, "region": region,
                                                     "session_enabled": True}, opts)
