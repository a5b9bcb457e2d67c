"""Transition rules and rollout plans (mesh/logic/transitions.py), table and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.logic.chart_index import latest_patch
from mesh.logic.deployed_state import DeployedStateError, parse_deployed
from mesh.logic.transitions import DeployedCluster, Desired, DesiredCluster, plan_transition

# What the repository index publishes (a subset is enough; pre-releases must never count as "latest").
PUBLISHED = (
    "1.16.3", "1.16.18", "1.16.19", "1.17.0-rc.1", "1.17.0", "1.17.17", "1.17.18",
    "1.18.0", "1.18.12", "1.19.0-pre.1", "1.19.5", "1.19.6",
)  # fmt: skip
NAMES = ("east", "west", "central", "north")


def want(n: int, version: str, *, names: tuple[str, ...] = NAMES, **kw: object) -> Desired:
    clusters = tuple(
        DesiredCluster(
            name=names[i], id=i + 1, pod_cidr=f"10.{50 + i}.0.0/16", vpc_cidr=f"10.{i}.0.0/16",
            chart_version=version,
        )
        for i in range(n)
    )  # fmt: skip
    return Desired(clusters=clusters, **kw)  # type: ignore[arg-type]


def have(n: int, version: str, *, names: tuple[str, ...] = NAMES, **kw: object) -> dict[str, DeployedCluster]:
    return {
        names[i]: DeployedCluster(
            name=names[i], id=i + 1, pod_cidr=f"10.{50 + i}.0.0/16", vpc_cidr=f"10.{i}.0.0/16",
            chart_version=version, max_connected_clusters=255, **kw,  # type: ignore[arg-type]
        )
        for i in range(n)
    }  # fmt: skip


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployed", "desired", "needle"),
    [
        ("1.16.19", "1.18.12", "skips 1.17"),
        ("1.16.19", "1.19.5", "skips 1.17, 1.18"),
        ("1.18.12", "1.16.19", "goes back 2 minors"),
        ("1.16.3", "1.17.18", "upgrade to 1.16.19 first"),
        ("1.17.17", "1.18.12", "upgrade to 1.17.18 first"),
    ],
)
def test_unsafe_version_steps_are_refused_naming_cluster_and_both_versions(
    deployed: str, desired: str, needle: str
) -> None:
    plan = plan_transition(have(1, deployed), want(1, desired), PUBLISHED)
    assert not plan.ok
    assert any(
        needle in r and r.startswith("east:") and deployed in r and desired in r for r in plan.refusals
    )


@pytest.mark.parametrize(
    ("deployed", "desired"),
    [
        ("1.16.3", "1.16.19"),  # patch upgrade
        ("1.16.19", "1.16.3"),  # patch downgrade within a minor
        ("1.16.19", "1.17.18"),  # minor step from the latest patch
        ("1.18.12", "1.19.5"),  # the target need not be the latest patch of its minor
        ("1.17.18", "1.16.19"),  # rollback to the previous minor (downgrade section)
        ("1.16.19", "1.16.19"),
    ],
)
def test_safe_version_steps_pass(deployed: str, desired: str) -> None:
    plan = plan_transition(have(2, deployed), want(2, desired), PUBLISHED)
    assert plan.refusals == ()


def test_rollback_to_previous_minor_is_said_plainly() -> None:
    plan = plan_transition(have(1, "1.17.18"), want(1, "1.16.19"), PUBLISHED)
    assert any("rollback to the previous minor" in n and "east" in n for n in plan.notes)


def test_stale_or_missing_index_never_passes_silently() -> None:
    plan = plan_transition(have(1, "1.16.3"), want(1, "1.17.18"), None)
    assert plan.refusals == ()
    assert any("NOT checked" in w and "1.16" in w for w in plan.warnings)
    # A deployed patch newer than the cached index's latest is not "older than latest".
    plan = plan_transition(have(1, "1.16.20"), want(1, "1.17.18"), PUBLISHED)
    assert plan.refusals == ()


def test_latest_patch_ignores_prereleases_and_other_lines() -> None:
    assert latest_patch(PUBLISHED, "1.17") == "1.17.18"
    assert latest_patch(("1.19.0-rc.1", "1.19.0-pre.1"), "1.19") is None
    assert latest_patch(("1.16.9", "1.16.10"), "1.16") == "1.16.10"  # numeric, not lexical


def test_identity_changes_are_refused() -> None:
    deployed = have(2, "1.16.19")
    desired = want(2, "1.16.19", max_connected_clusters=511)
    changed = Desired(
        clusters=(
            DesiredCluster("east", 7, "10.50.0.0/16", "10.0.0.0/16", "1.16.19"),
            DesiredCluster("west", 2, "10.99.0.0/16", "10.1.0.0/16", "1.16.19"),
        ),
        max_connected_clusters=511,
    )
    refusals = plan_transition(deployed, changed, PUBLISHED).refusals
    assert any(r.startswith("east: cluster id 1 -> 7") for r in refusals)
    assert any(r.startswith("west: podCidr 10.51.0.0/16 -> 10.99.0.0/16") for r in refusals)
    assert any(r.startswith("east: clustermesh.maxConnectedClusters 255 -> 511") for r in refusals)
    assert len(plan_transition(deployed, desired, PUBLISHED).refusals) == 2  # maxConnected on both


AZ2 = ("us-east-1a", "us-east-1b")


@pytest.mark.parametrize(
    ("desired_azs", "refused"),
    [
        (AZ2, False),
        (("us-east-1a", "us-east-1b", "us-east-1c"), True),  # a new AZ: EKS cannot follow, subnets resize
        (("us-east-1a", "us-east-1c"), True),
        (("us-east-1a",), True),
        (None, False),  # nothing to compare against
    ],
)
def test_availability_zone_changes_of_a_deployed_cluster_are_refused(
    desired_azs: tuple[str, ...] | None, refused: bool
) -> None:
    deployed = have(2, "1.16.19", availability_zones=AZ2)
    desired = want(2, "1.16.19")
    desired = Desired(
        clusters=tuple(
            DesiredCluster(**{**c.__dict__, "availability_zones": desired_azs}) for c in desired.clusters
        )
    )
    plan = plan_transition(deployed, desired, PUBLISHED)
    needle = f"east: availability zones us-east-1a, us-east-1b -> {', '.join(desired_azs or ())}:"
    assert any(r.startswith(needle) and "new name" in r for r in plan.refusals) is refused
    assert len(plan.refusals) == (2 if refused else 0)  # one per cluster


def test_reordering_the_availability_zones_is_refused_as_such() -> None:
    deployed = have(1, "1.16.19", availability_zones=AZ2)
    base = want(1, "1.16.19").clusters[0]
    swapped = DesiredCluster(**{**base.__dict__, "availability_zones": tuple(reversed(AZ2))})
    (refusal,) = plan_transition(deployed, Desired(clusters=(swapped,)), PUBLISHED).refusals
    assert refusal.startswith("east: availability zones us-east-1a, us-east-1b -> us-east-1b, us-east-1a")
    assert "only the order changed" in refusal and "keep the deployed order" in refusal


def test_availability_zones_may_change_with_the_vpc_and_are_skipped_for_old_outputs() -> None:
    new_azs = ("us-east-1a", "us-east-1b", "us-east-1c")
    base = want(1, "1.16.19").clusters[0]
    moved = DesiredCluster(**{**base.__dict__, "vpc_cidr": "10.9.0.0/16", "availability_zones": new_azs})
    plan = plan_transition(have(1, "1.16.19", availability_zones=AZ2), Desired(clusters=(moved,)), PUBLISHED)
    assert plan.ok and any("replaces the VPC" in n for n in plan.notes)  # a new VPC: a new control plane
    same_vpc = DesiredCluster(**{**base.__dict__, "availability_zones": new_azs})
    assert plan_transition(have(1, "1.16.19"), Desired(clusters=(same_vpc,)), PUBLISHED).ok  # no record yet


def test_mesh_skew_more_than_one_minor_is_refused() -> None:
    deployed = have(2, "1.17.18")
    deployed["west"] = DeployedCluster("west", 2, "10.51.0.0/16", "10.1.0.0/16", "1.16.19", 255)
    # east stays on 1.17; west at 1.16 would meet 1.18 on east: refused as a skip for east and as skew.
    plan = plan_transition(deployed, want(2, "1.18.12"), PUBLISHED)
    assert any(r.startswith("mesh: west would run Cilium 1.16.19 while") for r in plan.refusals)


def test_rename_is_a_new_cluster_plus_a_removed_one_said_plainly() -> None:
    deployed = have(2, "1.16.19")
    desired = want(2, "1.16.19", names=("east", "westish"))
    plan = plan_transition(deployed, desired, PUBLISHED)
    assert plan.ok
    assert any(
        n.startswith("westish: looks like a rename of west") and "destroys west" in n for n in plan.notes
    )
    assert any(n.startswith("west: no longer in the config") for n in plan.notes)
    assert plan.rollout["westish"].kind == "new"


# --- rollout -------------------------------------------------------------------------------------


def test_minor_upgrade_preflight_per_cluster_canary_first_and_upgrade_compatibility() -> None:
    plan = plan_transition(have(3, "1.16.19"), want(3, "1.17.18"), PUBLISHED)
    assert plan.ok and plan.canary == "east"
    for name in ("east", "west", "central"):
        r = plan.rollout[name]
        assert (r.kind, r.preflight, r.upgrade_compatibility) == ("upgrade", True, "1.16")
    assert plan.rollout["east"].wait_for == ()
    assert plan.rollout["west"].wait_for == ("east",)
    assert plan.rollout["central"].wait_for == ("east",)


def test_configured_canary_and_max_parallel_batches() -> None:
    plan = plan_transition(have(4, "1.16.3"), want(4, "1.16.19", canary="central", max_parallel=1), PUBLISHED)
    assert plan.canary == "central"
    assert plan.rollout["central"].wait_for == ()
    assert plan.rollout["east"].wait_for == ("central",)
    assert plan.rollout["west"].wait_for == ("east",)
    assert plan.rollout["north"].wait_for == ("west",)


def test_steady_state_leaves_nothing_over() -> None:
    plan = plan_transition(have(3, "1.17.18", installed_minor="1.17"), want(3, "1.17.18"), PUBLISHED)
    assert plan.canary is None and plan.refusals == () and plan.warnings == ()
    assert all(
        (r.kind, r.preflight, r.wait_for, r.upgrade_compatibility) == ("steady", False, (), None)
        for r in plan.rollout.values()
    )


def test_upgrade_compatibility_keeps_the_first_installed_minor() -> None:
    # The guide: "set to the initial Cilium version which was installed in this cluster".
    plan = plan_transition(have(2, "1.17.18", installed_minor="1.16"), want(2, "1.18.12"), PUBLISHED)
    assert plan.rollout["east"].upgrade_compatibility == "1.16"
    steady = plan_transition(have(2, "1.17.18", installed_minor="1.16"), want(2, "1.17.18"), PUBLISHED)
    assert steady.rollout["east"].upgrade_compatibility == "1.16"
    assert steady.rollout["east"].preflight is False


def test_joining_cluster_never_waits_and_peers_roll_canary_first() -> None:
    plan = plan_transition(have(2, "1.16.19"), want(3, "1.16.19"), PUBLISHED)
    assert plan.rollout["central"].kind == "new" and plan.rollout["central"].wait_for == ()
    assert plan.rollout["east"].kind == "change" and plan.rollout["east"].preflight is False
    assert plan.rollout["west"].wait_for == ("east",)


def test_first_install_has_no_cross_cluster_waits() -> None:
    plan = plan_transition({}, want(4, "1.16.3"), PUBLISHED)
    assert plan.canary is None
    assert all(r.kind == "new" and r.wait_for == () and not r.preflight for r in plan.rollout.values())


def test_values_change_on_only_some_clusters_is_not_coordinated() -> None:
    deployed = have(2, "1.16.19")
    deployed = {k: DeployedCluster(**{**v.__dict__, "values_digest": "a"}) for k, v in deployed.items()}
    desired = want(2, "1.16.19")
    desired = Desired(
        clusters=(
            DesiredCluster(**{**desired.clusters[0].__dict__, "values_digest": "b"}),
            DesiredCluster(**{**desired.clusters[1].__dict__, "values_digest": "a"}),
        )
    )
    plan = plan_transition(deployed, desired, PUBLISHED)
    assert plan.canary is None and plan.rollout["east"].kind == "change"
    assert plan.rollout["west"].kind == "steady"


@given(
    n=st.integers(1, 4),
    step=st.sampled_from(["1.16.19", "1.17.18", "1.16.3"]),
    canary=st.sampled_from(NAMES),
    max_parallel=st.one_of(st.none(), st.integers(1, 3)),
)
def test_rollout_properties(n: int, step: str, canary: str, max_parallel: int | None) -> None:
    plan = plan_transition(
        have(n, "1.16.19"), want(n, step, canary=canary, max_parallel=max_parallel), PUBLISHED
    )
    rolling = [r for r in plan.rollout.values() if r.kind in ("upgrade", "change")]
    if step == "1.16.19":
        assert rolling == [] and plan.canary is None
        return
    assert plan.canary is not None and plan.rollout[plan.canary].wait_for == ()
    # Every non-canary upgrading release waits, transitively, for the canary; nothing waits for itself.
    for r in rolling:
        chain, seen = list(r.wait_for), set()
        while chain:
            seen.add(chain.pop())
            chain += [w for x in [*seen] for w in plan.rollout[x].wait_for if w not in seen]
        assert r.name not in seen
        assert r.name == plan.canary or plan.canary in seen
        assert max_parallel is None or len([x for x in rolling if x.wave == r.wave]) <= max(max_parallel, 1)
        # Deployed 1.16: a patch step keeps the minor (no upgradeCompatibility), a minor step names 1.16.
        assert r.preflight and r.upgrade_compatibility == (None if step.startswith("1.16.") else "1.16")


# --- deployed state ------------------------------------------------------------------------------


def test_parse_stack_outputs_and_plan_documents_alike() -> None:
    outputs = {
        "clusters": {
            "east": {
                "name": "east", "id": 1.0, "podCidr": "10.50.0.0/16", "vpcCidr": "10.0.0.0/16",
                "ciliumVersion": "1.16.19", "maxConnectedClusters": 255, "kubeconfig": "[secret]",
                "meshPeers": ["west"], "availabilityZones": ["us-east-1a", "us-east-1b"],
            }
        }
    }  # fmt: skip
    for doc in (outputs, {"project": "p", "stack": "s", "resources": [], "outputs": outputs}):
        east = parse_deployed(doc)["east"]
        assert (east.id, east.chart_version, east.max_connected_clusters, east.mesh_peers) == (
            1,
            "1.16.19",
            255,
            ("west",),
        )
        assert east.availability_zones == ("us-east-1a", "us-east-1b")
    assert parse_deployed({"clusters": {"east": {"id": 1}}})["east"].availability_zones is None
    assert parse_deployed({}) == {}
    with pytest.raises(DeployedStateError, match="--show-secrets"):
        parse_deployed({"clusters": "[secret]"})
