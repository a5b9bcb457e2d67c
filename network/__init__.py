"""The network layer of the mesh: VPCs, peering and the inter-cluster security rules.

- :mod:`network.logic`: pure CIDR maths (:mod:`network.logic.cidr`) and the mesh security table as data
  (:mod:`network.logic.rules`). Imports no Pulumi.
- :mod:`network.components`: the Pulumi components built from them (VPC, peering, security rules).
"""
