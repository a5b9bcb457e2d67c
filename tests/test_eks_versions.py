"""The EKS version table: what EKS offers on a given day (the calendar's dates), and the texts users see."""

from __future__ import annotations

from datetime import date

import pytest

from mesh.logic.eks_versions import (
    AS_OF,
    EKS_VERSIONS,
    extended_support_warning,
    kubernetes_version_problem,
    number_hint,
    offered_versions,
)


def test_versions_offered_on_the_day_the_table_was_read() -> None:
    # EKS calendar: 1.31 extended support ends 2026-11-26, 1.36 released 2026-06-02.
    assert offered_versions(AS_OF) == ("1.36", "1.35", "1.34", "1.33", "1.32")
    assert offered_versions(date(2026, 11, 25)) == ("1.36", "1.35", "1.34", "1.33", "1.32", "1.31")
    assert offered_versions(date(2026, 6, 1)) == ("1.35", "1.34", "1.33", "1.32", "1.31", "1.30")


def test_table_is_newest_first_and_each_row_is_14_plus_12_months() -> None:
    minors = [tuple(int(p) for p in v.minor.split(".")) for v in EKS_VERSIONS]
    assert minors == sorted(minors, reverse=True)
    for v in EKS_VERSIONS:
        months = (v.end_of_standard.year - v.released.year) * 12 + v.end_of_standard.month - v.released.month
        assert months == 14, v.minor
        assert (v.end_of_extended.year, v.end_of_extended.month) == (
            v.end_of_standard.year + 1,
            v.end_of_standard.month,
        )


def test_end_of_extended_support_is_refused_with_the_date() -> None:
    problem = kubernetes_version_problem("1.31", date(2026, 11, 26))
    assert problem is not None
    assert "end of EKS extended support on 2026-11-26" in problem
    assert "1.36, 1.35, 1.34, 1.33, 1.32" in problem
    assert kubernetes_version_problem("1.31", date(2026, 11, 25)) is None


@pytest.mark.parametrize("version", ["1.37", "1.3", "1.28", "2.0"])
def test_unknown_versions_name_the_list_and_where_to_update_it(version: str) -> None:
    problem = kubernetes_version_problem(version, AS_OF)
    assert problem is not None and problem.startswith(f"{version} is not a Kubernetes version EKS offers")
    assert "mesh/logic/eks_versions.py" in problem and "kubernetes-release-calendar" in problem


def test_extended_support_is_a_warning_from_the_end_of_standard_support() -> None:
    assert extended_support_warning("1.34", date(2026, 12, 1)) is None
    warning = extended_support_warning("1.34", date(2026, 12, 2))
    assert warning is not None and "extended support since 2026-12-02" in warning
    assert "after 2027-12-02" in warning


@pytest.mark.parametrize(("number", "meant"), [(1.3, "1.30"), (1.34, "1.34"), (1.4, "1.4")])
def test_unquoted_version_is_explained(number: float, meant: str) -> None:
    hint = number_hint(number)
    assert f"the number {number}" in hint and f'quote it: kubernetesVersion: "{meant}"' in hint
