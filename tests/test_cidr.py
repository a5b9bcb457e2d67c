"""Tests for network.cidr: subnet planning and the CIDR helpers the config validator reuses."""

from __future__ import annotations

import ipaddress
import re
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.logic.cidr import find_overlaps, overlaps, parse_network, peer_pairs, plan_subnets

AZS_6 = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]


def _span(network: ipaddress.IPv4Network) -> tuple[int, int]:
    """[first, last] address as integers - a check independent of ipaddress.overlaps."""
    return int(network.network_address), int(network.broadcast_address)


def _brute_overlap(a: ipaddress.IPv4Network, b: ipaddress.IPv4Network) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 <= b1 and b0 <= a1


# --- concrete layouts (expected values derived from the layout in the module docstring) ---------


def test_plan_10_3_0_0_16_two_azs() -> None:
    # 2 AZs -> 2 slots -> private /18 (16 + 1 + 1) in the lower half 10.3.0.0/17: blocks of 64 in the
    # third octet; public /20 (18 + 2) from the upper half start 10.3.128.0: blocks of 16.
    plan = plan_subnets("10.3.0.0/16", ["eu-west-1a", "eu-west-1b"])
    assert [s.cidr for s in plan.private] == ["10.3.0.0/18", "10.3.64.0/18"]
    assert [s.cidr for s in plan.public] == ["10.3.128.0/20", "10.3.144.0/20"]
    assert [s.az for s in plan.private] == ["eu-west-1a", "eu-west-1b"]
    assert plan.public_cidr("eu-west-1b") == "10.3.144.0/20"


def test_plan_10_3_0_0_16_three_azs() -> None:
    # 3 AZs -> 4 slots -> private /19 (16 + 1 + 2): 32 per block in the third octet; the 4th slot
    # (10.3.96.0/19) stays free. Public /21 (19 + 2): 8 per block from 10.3.128.0.
    plan = plan_subnets("10.3.0.0/16", ["a", "b", "c"])
    assert [s.cidr for s in plan.private] == ["10.3.0.0/19", "10.3.32.0/19", "10.3.64.0/19"]
    assert [s.cidr for s in plan.public] == ["10.3.128.0/21", "10.3.136.0/21", "10.3.144.0/21"]
    assert plan.private_cidr("c") == "10.3.64.0/19"


def test_plan_single_az_uses_half_for_private() -> None:
    # 1 AZ -> 1 slot -> private = the whole lower half /17; public /19 at the upper half start.
    plan = plan_subnets("10.3.0.0/16", ["a"])
    assert [s.cidr for s in plan.subnets] == ["10.3.0.0/17", "10.3.128.0/19"]


def test_plan_smallest_supported_vpc_with_six_azs_is_all_slash_28() -> None:
    # /24 with 6 AZs -> 8 slots -> private /28 (24 + 1 + 3) = 16 addresses each from .0;
    # public would be /30, clamped to the /28 minimum, from the upper half start .128.
    plan = plan_subnets("192.168.7.0/24", AZS_6)
    assert [s.cidr for s in plan.private] == [f"192.168.7.{16 * i}/28" for i in range(6)]
    assert [s.cidr for s in plan.public] == [f"192.168.7.{128 + 16 * i}/28" for i in range(6)]


def test_adding_an_az_within_the_same_slot_count_keeps_existing_subnets() -> None:
    three = plan_subnets("10.3.0.0/16", ["a", "b", "c"])
    four = plan_subnets("10.3.0.0/16", ["a", "b", "c", "d"])
    assert four.private[:3] == three.private
    assert four.public[:3] == three.public
    assert four.private_cidr("d") == "10.3.96.0/19"


@pytest.mark.parametrize(
    ("vpc", "azs", "message"),
    [
        (
            "10.0.0.0/24",
            [f"az{i}" for i in range(9)],
            "too small for 9 availability zones: private subnets would be /29",
        ),
        ("10.0.0.0/26", ["a", "b", "c"], "too small for 3 availability zones"),
        ("10.0.0.0/28", ["a"], "private subnets would be /29"),
        ("10.0.0.0/15", ["a"], "AWS allows /16 to /28"),
        ("10.0.0.0/16", [], "at least one availability zone"),
        ("10.0.0.0/16", ["a", "b", "a"], "duplicate availability zones: a"),
        ("10.0.0.1/16", ["a"], "host bits set"),
    ],
)
def test_plan_refuses_what_cannot_fit(vpc: str, azs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_subnets(vpc, azs)


def test_plan_too_small_message_suggests_a_fitting_prefix() -> None:
    # 3 AZs need 2 slot bits + 1 half bit, so the VPC must be at most /25 for /28 subnets.
    with pytest.raises(ValueError, match=r"at most /25"):
        plan_subnets("10.0.0.0/26", ["a", "b", "c"])


# --- property-based --------------------------------------------------------------------------------

vpc_networks = st.builds(
    lambda address, prefix: ipaddress.IPv4Network((address, prefix), strict=False),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=16, max_value=24),
)
az_lists = st.integers(min_value=1, max_value=6).map(lambda n: AZS_6[:n])


@settings(max_examples=150, deadline=None)
@given(vpc=vpc_networks, azs=az_lists)
def test_planned_subnets_are_disjoint_inside_and_big_enough(
    vpc: ipaddress.IPv4Network, azs: list[str]
) -> None:
    plan = plan_subnets(vpc.with_prefixlen, azs)
    subnets = [s.network for s in plan.subnets]
    assert len(subnets) == 2 * len(azs)
    vpc_first, vpc_last = _span(vpc)
    for subnet in subnets:
        first, last = _span(subnet)
        assert vpc_first <= first and last <= vpc_last
        assert subnet.prefixlen <= 28
    for a, b in combinations(subnets, 2):
        assert not _brute_overlap(a, b), (a, b)
    # Private subnets are never smaller than public ones (strictly larger unless clamped at /28).
    private_size, public_size = plan.private[0].network.num_addresses, plan.public[0].network.num_addresses
    assert private_size >= public_size
    assert private_size > public_size or plan.public[0].network.prefixlen == 28
    assert [s.az for s in plan.private] == azs and [s.az for s in plan.public] == azs


small_networks = st.builds(
    lambda address, prefix: ipaddress.IPv4Network((address, prefix), strict=False),
    st.integers(min_value=0, max_value=2**12 - 1).map(lambda x: (10 << 24) + (x << 12)),
    st.integers(min_value=8, max_value=30),
)


@settings(max_examples=150, deadline=None)
@given(named=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), small_networks, max_size=7))
def test_find_overlaps_agrees_with_brute_force(named: dict[str, ipaddress.IPv4Network]) -> None:
    expected = sorted((a, b) for a in named for b in named if a < b and _brute_overlap(named[a], named[b]))
    assert find_overlaps(named) == expected
    # Insertion order must not matter.
    assert find_overlaps(dict(reversed(list(named.items())))) == expected


@given(names=st.lists(st.text("abcdefghij-", min_size=1, max_size=4), unique=True, max_size=9))
def test_peer_pairs_is_a_full_mesh(names: list[str]) -> None:
    pairs = peer_pairs(names)
    n = len(names)
    assert len(pairs) == n * (n - 1) // 2
    assert len(set(pairs)) == len(pairs)
    assert all(a < b for a, b in pairs)
    assert {frozenset(p) for p in pairs} == {frozenset((a, b)) for a in names for b in names if a != b}
    assert pairs == sorted(pairs)
    assert peer_pairs(list(reversed(names))) == pairs


# --- helpers ---------------------------------------------------------------------------------------


def test_peer_pairs_concrete_and_duplicates() -> None:
    assert peer_pairs(["west", "east", "central"]) == [
        ("central", "east"),
        ("central", "west"),
        ("east", "west"),
    ]
    assert peer_pairs(["only"]) == []
    with pytest.raises(ValueError, match="duplicate names cannot be paired: east"):
        peer_pairs(["east", "west", "east"])


def test_parse_network_accepts_canonical_cidr() -> None:
    assert parse_network("10.1.0.0/16") == ipaddress.IPv4Network("10.1.0.0/16")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.1.2.3/16", r"'10.1.2.3/16' has host bits set; the network address is 10.1.0.0/16"),
        ("10.1.0.0", r"missing prefix length"),
        ("10.1.0.0/33", r"not a valid IPv4 CIDR"),
        ("fd00::/64", r"not a valid IPv4 CIDR"),
        ("banana/8", r"not a valid IPv4 CIDR"),
    ],
)
def test_parse_network_is_strict(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_network(value)


def test_overlaps() -> None:
    assert overlaps("10.0.0.0/16", "10.0.255.0/24")
    assert overlaps(ipaddress.IPv4Network("10.0.0.0/8"), "10.200.0.0/16")
    assert not overlaps("10.0.0.0/16", "10.1.0.0/16")
    assert find_overlaps(
        {
            "east": ipaddress.IPv4Network("10.1.0.0/16"),
            "west": ipaddress.IPv4Network("10.2.0.0/16"),
            "pods": ipaddress.IPv4Network("10.0.0.0/14"),
        }
    ) == [("east", "pods"), ("pods", "west")]
