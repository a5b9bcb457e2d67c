"""Pulumi components of the network: :mod:`.vpc` (per-cluster VPC), :mod:`.peering` (a VPC peering with its
routes), :mod:`.security` (the mesh rule table applied to a security group).

May import: pulumi, pulumi_aws, :mod:`network.logic`.
"""
