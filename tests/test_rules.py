"""Tests for network.rules: the Cilium inter-cluster rule table, its expansion and the source validator."""

from __future__ import annotations

import re

import pytest

from network.logic.rules import (
    IngressRuleSpec,
    MeshRule,
    expand_rules,
    mesh_rule_table,
    validate_rule_sources,
)

PEERS = {"west": "10.2.0.0/16", "central": "10.3.0.0/16"}


def _ports(table: tuple[MeshRule, ...]) -> dict[str, tuple[str, int, int]]:
    return {rule.key: (rule.protocol, rule.from_port, rule.to_port) for rule in table}


def test_base_table_has_exactly_the_cilium_datapath_ports() -> None:
    assert _ports(mesh_rule_table()) == {
        "vxlan": ("udp", 8472, 8472),
        "health": ("tcp", 4240, 4240),
        # ICMP echo request: from_port carries the type (8), to_port the code (0).
        "icmp-echo": ("icmp", 8, 0),
    }


def test_wireguard_is_the_only_optional_row() -> None:
    table = mesh_rule_table(wireguard=True)
    assert [rule.key for rule in table] == ["vxlan", "health", "icmp-echo", "wireguard"]
    assert _ports(table)["wireguard"] == ("udp", 51871, 51871)


@pytest.mark.parametrize(("low", "high"), [(32380, 32380), (30000, 32767), (1, 65535), (29000, 30000)])
def test_no_row_may_cover_a_kubernetes_node_port(low: int, high: int) -> None:
    """The service controller owns a LoadBalancer's node port ingress; a second owner fails on AWS."""
    table = (*mesh_rule_table(), MeshRule("mesh-api", "tcp", low, high, "mesh API"))
    with pytest.raises(ValueError, match=r"rule 'mesh-api' covers Kubernetes node ports \(30000-32767\)"):
        expand_rules("east", PEERS, table)
    # udp on the same ports is no node port of a TCP Service.
    assert expand_rules("east", PEERS, (MeshRule("udp-range", "udp", low, high, "udp"),))


def test_expand_rules_one_spec_per_peer_and_rule_with_stable_keys() -> None:
    table = mesh_rule_table(wireguard=True)
    specs = expand_rules("east", PEERS, table)
    assert len(specs) == len(PEERS) * len(table)
    # Peers in sorted order, rules in table order.
    assert [s.key for s in specs] == [
        "east-from-central-vxlan",
        "east-from-central-health",
        "east-from-central-icmp-echo",
        "east-from-central-wireguard",
        "east-from-west-vxlan",
        "east-from-west-health",
        "east-from-west-icmp-echo",
        "east-from-west-wireguard",
    ]
    by_key = {s.key: s for s in specs}
    vxlan_from_west = by_key["east-from-west-vxlan"]
    assert (vxlan_from_west.cidr_ipv4, vxlan_from_west.ip_protocol) == ("10.2.0.0/16", "udp")
    assert (vxlan_from_west.from_port, vxlan_from_west.to_port) == (8472, 8472)
    assert by_key["east-from-central-icmp-echo"].cidr_ipv4 == "10.3.0.0/16"
    assert vxlan_from_west.description == "Cilium VXLAN overlay from west"
    assert expand_rules("east", dict(reversed(PEERS.items())), table) == specs


def test_expand_rules_refuses_self_peer_and_duplicate_rule_keys() -> None:
    with pytest.raises(ValueError, match="cluster 'east' cannot be its own peer"):
        expand_rules("east", {"east": "10.1.0.0/16"}, mesh_rule_table())
    rule = MeshRule("vxlan", "udp", 8472, 8472, "Cilium VXLAN overlay")
    with pytest.raises(ValueError, match="duplicate keys: vxlan"):
        expand_rules("east", PEERS, (rule, rule))


@pytest.mark.parametrize(
    ("peer_cidr", "message"),
    [
        ("0.0.0.0/0", "rule 'east-from-west-vxlan': source 0.0.0.0/0 opens the port to the whole internet"),
        ("::/0", "rule 'east-from-west-vxlan': source ::/0 opens the port to the whole internet"),
        ("fd00::/16", "rule 'east-from-west-vxlan': IPv6 source fd00::/16 is not allowed"),
        ("10.0.0.0/8", "rule 'east-from-west-vxlan': source 10.0.0.0/8 is broader than any VPC (/16)"),
        ("10.2.0.1/16", "rule 'east-from-west-vxlan': invalid source: '10.2.0.1/16' has host bits set"),
    ],
)
def test_expansion_refuses_bad_peer_cidrs(peer_cidr: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        expand_rules("east", {"west": peer_cidr}, mesh_rule_table())


def _spec(cidr: str, peer: str = "west") -> IngressRuleSpec:
    rule = mesh_rule_table()[1]
    return IngressRuleSpec(f"east-from-{peer}-{rule.key}", "east", peer, rule, cidr)


def test_validator_accepts_only_the_exact_peer_vpc() -> None:
    validate_rule_sources([_spec("10.2.0.0/16")], {"west": "10.2.0.0/16"})  # exact: fine
    broader = r"'east-from-west-health': source 10\.2\.0\.0/16 is broader than peer VPC 10\.2\.0\.0/20"
    with pytest.raises(ValueError, match=broader):
        validate_rule_sources([_spec("10.2.0.0/16")], {"west": "10.2.0.0/20"})
    narrower = r"'east-from-west-health': source 10\.2\.0\.0/24 is not equal to peer VPC 10\.2\.0\.0/16"
    with pytest.raises(ValueError, match=narrower):
        validate_rule_sources([_spec("10.2.0.0/24")], {"west": "10.2.0.0/16"})
    with pytest.raises(ValueError, match=r"source 10\.3\.0\.0/16 is not equal to peer VPC 10\.2\.0\.0/16"):
        validate_rule_sources([_spec("10.3.0.0/16")], {"west": "10.2.0.0/16", "central": "10.3.0.0/16"})
    with pytest.raises(ValueError, match="'east-from-south-health': 'south' is not a known peer cluster"):
        validate_rule_sources([_spec("10.9.0.0/16", peer="south")], {"west": "10.2.0.0/16"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "-1"}, "protocol must be tcp, udp or icmp"),
        ({"from_port": 9000, "to_port": 8000}, "port range 9000-8000 is invalid"),
        ({"protocol": "icmp", "from_port": 8, "to_port": 300}, "ICMP type/code must be 0..255"),
        ({"key": "Bad Key"}, "must be a lowercase slug"),
        ({"description": "tab\tin description"}, "characters AWS rejects"),
    ],
)
def test_mesh_rule_rejects_invalid_rows(kwargs: dict[str, object], message: str) -> None:
    row: dict[str, object] = {
        "key": "x",
        "protocol": "tcp",
        "from_port": 1,
        "to_port": 2,
        "description": "ok",
        **kwargs,
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        MeshRule(**row)  # type: ignore[arg-type]
