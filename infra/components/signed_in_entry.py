"""An internet-facing HTTPS entry that signs users in with Amazon Cognito before forwarding.

Open-source Dagster has no login of its own, so the load balancer does it: the HTTPS
listener's first action is ``authenticate-cognito`` (see "Authenticate users using an
Application Load Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html),
and a WAF web ACL with AWS managed rules and a per-IP rate limit sits in front.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
REQUESTS_PER_IP_PER_5_MINUTES = 2000
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


@dataclass
class SignedInEntryArgs:
    hostname: str
    """Users' address, e.g. ``dagster.example.com``."""
    hosted_zone: str
    """Public Route 53 zone holding ``hostname``."""
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    """Public subnets of the load balancer."""
    target_port: int
    health_check_path: str
    user_pool_name: str
    cognito_domain: str
    """Prefix of the hosted sign-in page, ``<prefix>.auth.<region>.amazoncognito.com`` (globally unique)."""


class SignedInEntry(pulumi.ComponentResource):
    """Certificate, DNS, Cognito user pool, ALB with sign-in, target group (IP targets), WAF."""

    target_group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    https_listener: aws.lb.Listener
    url: pulumi.Output[str]

    def __init__(self, name: str, args: SignedInEntryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:signed_in_entry:SignedInEntry", name, None, opts)
        self._name, self._args, self._child = name, args, pulumi.ResourceOptions(parent=self)
        zone = aws.route53.get_zone_output(
            name=args.hosted_zone, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        certificate_arn = self._certificate(zone)
        pool, client, domain = self._sign_in()
        alb, group, target, https = self._load_balancer(certificate_arn, pool, client, domain)
        self._waf(alb)
        aws.route53.Record(
            f"{name}-hostname", zone_id=zone.zone_id, name=args.hostname, type="A",
            aliases=[{"name": alb.dns_name, "zone_id": alb.zone_id, "evaluate_target_health": True}], opts=self._child,
        )
        self.target_group_arn = target.arn
        self.security_group_id = group.id
        self.https_listener = https
        self.url = pulumi.Output.from_input(f"https://{args.hostname}")
        self.register_outputs({"url": self.url, "load_balancer_dns_name": alb.dns_name, "user_pool_id": pool.id,
                               "target_group_arn": target.arn})

    def _certificate(self, zone) -> pulumi.Output[str]:
        """ARN of the hostname's ACM certificate, once validated through a DNS record in ``zone``."""
        name, child = self._name, self._child
        certificate = aws.acm.Certificate(f"{name}-cert", domain_name=self._args.hostname, validation_method="DNS",
                                          opts=child)
        validation = certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            f"{name}-cert-validation", zone_id=zone.zone_id, name=validation.resource_record_name,
            type=validation.resource_record_type, records=[validation.resource_record_value], ttl=300, opts=child,
        )
        validated = aws.acm.CertificateValidation(
            f"{name}-cert", certificate_arn=certificate.arn, validation_record_fqdns=[validation_record.fqdn], opts=child
        )
        return validated.certificate_arn

    def _sign_in(self) -> tuple[aws.cognito.UserPool, aws.cognito.UserPoolClient, aws.cognito.UserPoolDomain]:
        """The Cognito user pool (administrators create users; MFA optional), its hosted sign-in page
        and the load balancer's OAuth client."""
        name, args, child = self._name, self._args, self._child
        pool = aws.cognito.UserPool(
            f"{name}-users",
            name=args.user_pool_name,
            admin_create_user_config={"allow_admin_create_user_only": True},
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration={"enabled": True},
            password_policy={"minimum_length": 14, "require_lowercase": True, "require_uppercase": True,
                             "require_numbers": True, "require_symbols": True},
            deletion_protection="ACTIVE",
            opts=child,
        )
        domain = aws.cognito.UserPoolDomain(f"{name}-signin", domain=args.cognito_domain, user_pool_id=pool.id, opts=child)
        client = aws.cognito.UserPoolClient(
            f"{name}-alb-client",
            user_pool_id=pool.id,
            generate_secret=True,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email"],
            supported_identity_providers=["COGNITO"],
            callback_urls=[f"https://{args.hostname}/oauth2/idpresponse"],
            opts=child,
        )
        return pool, client, domain

    def _load_balancer(self, certificate_arn, pool, client, domain):
        """The ALB, its security group and target group, an HTTP listener redirecting to HTTPS and the
        HTTPS listener that signs users in before forwarding."""
        name, args, child = self._name, self._args, self._child
        # Internet-facing by design: Cognito sign-in and WAF guard it, not a CIDR allow-list.
        group = aws.ec2.SecurityGroup(f"{name}-alb", vpc_id=args.vpc_id, description="HTTPS from the internet", opts=child)
        for port in (443, 80):  # 80 only answers with a redirect to HTTPS
            aws.vpc.SecurityGroupIngressRule(f"{name}-alb-{port}", security_group_id=group.id, ip_protocol="tcp",
                                             from_port=port, to_port=port, cidr_ipv4="0.0.0.0/0", opts=child)
        # Out to the targets, and to Cognito's token endpoint on 443 during sign-in.
        for port in (args.target_port, 443):
            aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-{port}", security_group_id=group.id, ip_protocol="tcp",
                                            from_port=port, to_port=port, cidr_ipv4="0.0.0.0/0", opts=child)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False, subnets=args.subnet_ids,
            security_groups=[group.id], drop_invalid_header_fields=True, enable_deletion_protection=True, opts=child,
        )
        target = aws.lb.TargetGroup(
            f"{name}-target", port=args.target_port, protocol="HTTP", target_type="ip", vpc_id=args.vpc_id,
            health_check={"path": args.health_check_path, "matcher": "200"}, opts=child,
        )
        aws.lb.Listener(
            f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
            default_actions=[{"type": "redirect",
                              "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
            opts=child,
        )
        https = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS", ssl_policy=TLS_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[
                {"type": "authenticate-cognito", "order": 1, "authenticate_cognito": {
                    "user_pool_arn": pool.arn, "user_pool_client_id": client.id, "user_pool_domain": domain.domain}},
                {"type": "forward", "order": 2, "target_group_arn": target.arn},
            ],
            opts=child,
        )
        return alb, group, target, https

    def _waf(self, alb: aws.lb.LoadBalancer) -> None:
        """A WAF web ACL on the ALB: AWS managed rule groups and a per-IP rate limit."""
        name, child = self._name, self._child
        acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            scope="REGIONAL",
            default_action={"allow": {}},
            visibility_config=_visibility(name),
            rules=[_managed_rule(group_name, priority) for priority, group_name in enumerate(MANAGED_RULE_GROUPS, 1)]
            + [{
                "name": "rate-limit",
                "priority": len(MANAGED_RULE_GROUPS) + 1,
                "action": {"block": {}},
                "statement": {"rate_based_statement": {"limit": REQUESTS_PER_IP_PER_5_MINUTES,
                                                       "aggregate_key_type": "IP"}},
                "visibility_config": _visibility("rate-limit"),
            }],
            opts=child,
        )
        aws.wafv2.WebAclAssociation(f"{name}-waf", resource_arn=alb.arn, web_acl_arn=acl.arn, opts=child)


def _visibility(metric: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _managed_rule(rule_group: str, priority: int) -> dict:
    return {
        "name": rule_group,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": rule_group}},
        "visibility_config": _visibility(rule_group),
    }
