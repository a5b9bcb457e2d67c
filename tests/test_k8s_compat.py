"""The Cilium line -> tested Kubernetes matrix and the warning derived from it."""

from __future__ import annotations

import pytest

from mesh.logic.k8s_compat import TESTED_KUBERNETES, compat_warning, e2e_tested_kubernetes, minor_line


@pytest.mark.parametrize(
    ("cilium", "kubernetes"),
    [("1.16.3", "1.27"), ("1.16.19", "1.30"), ("1.17.18", "1.32"), ("1.18.12", "1.30"), ("1.18.12", "1.33")],
)
def test_tested_combinations_give_no_warning(cilium: str, kubernetes: str) -> None:
    assert compat_warning(cilium, kubernetes) is None


@pytest.mark.parametrize(
    ("cilium", "kubernetes", "tested"),
    [
        ("1.16.3", "1.31", "1.27, 1.28, 1.29, 1.30"),
        ("1.18.12", "1.34", "1.30, 1.31, 1.32, 1.33"),
        ("1.18.12", "1.29", "1.30, 1.31, 1.32, 1.33"),
    ],
)
def test_untested_combinations_warn_without_failing(cilium: str, kubernetes: str, tested: str) -> None:
    warning = compat_warning(cilium, kubernetes)
    assert warning is not None
    assert f"Kubernetes {kubernetes} is untested with Cilium {minor_line(cilium)}" in warning
    assert f"e2e-tested: {tested}" in warning


def test_patch_and_distribution_suffixes_are_ignored() -> None:
    assert compat_warning("v1.18.12", "v1.31.4-eks-1234567") is None
    assert minor_line("1.33.0-eks-abc") == "1.33"
    assert e2e_tested_kubernetes("1.17.0-pre.1") == TESTED_KUBERNETES["1.17"]


def test_unknown_cilium_line_warns_instead_of_guessing() -> None:
    assert e2e_tested_kubernetes("1.20.1") is None
    warning = compat_warning("1.20.1", "1.34")
    assert warning is not None
    assert "no tested-Kubernetes list is recorded for the 1.20 line" in warning
    assert "https://docs.cilium.io/en/v1.20/network/kubernetes/compatibility/" in warning


@pytest.mark.parametrize("bad", ["", "1", "latest", "one.two"])
def test_malformed_versions_raise(bad: str) -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR"):
        compat_warning("1.18.12", bad)
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR"):
        compat_warning(bad, "1.31")


def test_matrix_rows_are_consecutive_minors_moving_forward() -> None:
    """Guards the table against typos: each line lists 4 consecutive minors, newer lines never go back."""
    previous_first = 0
    for line in sorted(TESTED_KUBERNETES, key=lambda v: tuple(map(int, v.split(".")))):
        minors = [int(version.split(".")[1]) for version in TESTED_KUBERNETES[line]]
        assert minors == list(range(minors[0], minors[0] + 4)), line
        assert minors[0] >= previous_first, line
        previous_first = minors[0]


def test_older_than_the_list_is_unsupported_where_the_page_says_so() -> None:
    warning = compat_warning("1.16.3", "1.26")
    assert warning is not None and "Kubernetes 1.26 is UNSUPPORTED by Cilium 1.16" in warning
    # Newer than the list stays "untested" on the same line; 1.18's page calls older versions untested.
    assert "untested" in (compat_warning("1.16.3", "1.34") or "")
    assert "untested" in (compat_warning("1.18.12", "1.29") or "")
