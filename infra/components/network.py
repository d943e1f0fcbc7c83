"""The VPC of the Dagster deployment: two public subnets (ALB, NAT) and two private ones (ECS, RDS)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ZONES = 2


@dataclass
class NetworkArgs:
    cidr: str
    """A /16; split into /20 subnets."""


def subnet_cidrs(cidr: str) -> tuple[list[str], list[str]]:
    """``(public, private)`` /20 blocks of a /16: public from the bottom, private from the middle."""
    blocks = [str(b) for b in ipaddress.ip_network(cidr).subnets(new_prefix=20)]
    return blocks[:ZONES], blocks[8 : 8 + ZONES]


class Network(pulumi.ComponentResource):
    """VPC, internet gateway, one NAT gateway (cost over zone redundancy), route tables."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("emr-platform:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags={"Name": name}, opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr)
        public_table = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], opts=child
        )
        self.public_subnet_ids, self.private_subnet_ids = [], []
        for i, block in enumerate(public_cidrs):
            subnet = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=block,
                                    availability_zone=zones.names[i], tags={"Name": f"{name}-public-{i}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public_table.id,
                                          opts=child)
            self.public_subnet_ids.append(subnet.id)
        eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=self.public_subnet_ids[0],
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))
        private_table = aws.ec2.RouteTable(
            f"{name}-private", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}], opts=child
        )
        for i, block in enumerate(private_cidrs):
            subnet = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=block,
                                    availability_zone=zones.names[i], tags={"Name": f"{name}-private-{i}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=private_table.id,
                                          opts=child)
            self.private_subnet_ids.append(subnet.id)
        self.vpc_id = vpc.id
        self.register_outputs(
            {"vpc_id": vpc.id, "public_subnet_ids": self.public_subnet_ids, "private_subnet_ids": self.private_subnet_ids}
        )
