"""Peerings from every mesh VPC to an existing VPC outside the stack (e.g. the VPN or CI runner VPC of a
shared account): names, formats and the accept decision, as pure functions.

AWS lets the requester accept a peering itself only when both VPCs are in the same account and region
(``auto_accept``, AWS provider ``aws_vpc_peering_connection``); otherwise the owner of the other VPC accepts
it (in the other VPC's region), and the stack output ``externalPeerings``
(:func:`mesh.components.program.external_peerings_output`) tells it what to accept.
"""

from __future__ import annotations

import re

VPC_ID_RE = re.compile(r"^vpc-[0-9a-f]{8,17}$")
ROUTE_TABLE_ID_RE = re.compile(r"^rtb-[0-9a-f]{8,17}$")
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
# Peering names end up in resource names and tags.
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


def peering_key(cluster: str, name: str) -> str:
    """``<cluster>--ext-<name>``: the peering connection of ``cluster``'s VPC to external VPC ``name``."""
    return f"{cluster}--ext-{name}"


def route_key(peering: str, route_table_key: str) -> str:
    """Name of the route to the external CIDR in the mesh VPC's route table ``route_table_key``."""
    return f"{peering}-{route_table_key}"


def return_route_key(peering: str, route_table_id: str) -> str:
    """Name of the route back to the mesh VPC in the external VPC's route table ``route_table_id``."""
    return f"{peering}-back-{route_table_id}"


def peer_region_arg(stack_region: str, region: str | None) -> str | None:
    """``peer_region`` for the peering connection: only for another region. The AWS provider refuses
    ``peer_region`` together with ``auto_accept``, so the same region is never sent explicitly."""
    return region if region is not None and region != stack_region else None


def same_account(owner_account_id: str | None, caller_account_id: str) -> bool:
    """An omitted ``ownerAccountId`` means the stack's own account."""
    return owner_account_id is None or owner_account_id == caller_account_id


def can_auto_accept(
    *, stack_region: str, region: str | None, owner_account_id: str | None, caller_account_id: str
) -> bool:
    """True when the stack may accept the peering itself: same account and same region."""
    return peer_region_arg(stack_region, region) is None and same_account(owner_account_id, caller_account_id)
