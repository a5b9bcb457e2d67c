"""Which Kubernetes versions each Cilium release line is e2e-tested on, and a pure warning helper.

Cilium's "Kubernetes Compatibility" page lists, per release line, the Kubernetes versions that are
"e2e tested and guaranteed to be compatible"; others "depend on the forward / backward
compatibility offered by Kubernetes". So a version outside the list is *untested*, not unsupported:
`compat_warning` returns a warning, never an error.

Sources (Documentation/network/kubernetes/compatibility.rst, rendered at
https://docs.cilium.io/en/v<line>/network/kubernetes/compatibility/):
* 1.16: 1.27-1.30 - https://github.com/cilium/cilium/blob/2ab5f8da5915992a1e548c290105dbc08f4be52d/
  Documentation/network/kubernetes/compatibility.rst (v1.16.7)
* 1.17: 1.29-1.32 - https://docs.cilium.io/en/v1.17/network/kubernetes/compatibility/
  (NOT re-read for this change: the stored copy was unavailable; value from the v1.17 docs as recalled)
* 1.18: 1.30-1.33 - https://raw.githubusercontent.com/cilium/cilium/v1.18.14/Documentation/network/
  kubernetes/compatibility.rst
* 1.19: 1.32-1.35 - https://contextqmd.com/libraries/cilium/versions/1.19.3/pages/Documentation/network/
  kubernetes/compatibility (copy of the v1.19.3 compatibility.rst)
Lines not listed (e.g. 1.20) have no data here: `compat_warning` says so instead of guessing.

Below a line's list: for the 1.16 list (1.27-1.30) the docs say "Older Kubernetes versions not listed here
do not have Cilium support. Newer Kubernetes versions, while not listed, will depend on the backward
compatibility offered by Kubernetes" (Documentation/network/kubernetes/requirements.rst, "Kubernetes
Version", as served at https://docs.cilium.io/en/latest/network/kubernetes/requirements/ while 1.16 was
current); the 1.18 and 1.19 compatibility pages call older and newer versions alike untested.
`OLDER_UNSUPPORTED` records the lines whose page says so; the warning then says
*unsupported*. 1.17 is left out: its page could not be re-read here.
"""

from __future__ import annotations

import re
from datetime import date

AS_OF = date(2026, 11, 26)
"""The day the sources above were read; the weekly freshness check fails when it grows old."""

TESTED_KUBERNETES: dict[str, tuple[str, ...]] = {
    "1.16": ("1.27", "1.28", "1.29", "1.30"),
    "1.17": ("1.29", "1.30", "1.31", "1.32"),
    "1.18": ("1.30", "1.31", "1.32", "1.33"),
    "1.19": ("1.32", "1.33", "1.34", "1.35"),
}
"""Cilium release line -> Kubernetes minor versions Cilium e2e-tests that line on."""

OLDER_UNSUPPORTED: frozenset[str] = frozenset({"1.16"})
"""Lines whose compatibility page says Kubernetes versions older than its list have no Cilium support."""

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def minor_line(version: str) -> str:
    """``"1.18.12"``, ``"v1.18"`` or ``"1.31.2-eks-1"`` -> ``"1.18"`` / ``"1.31"``; ValueError otherwise."""
    match = _VERSION_RE.match(version.strip())
    if match is None:
        raise ValueError(f"version {version!r} is not of the form MAJOR.MINOR[.PATCH]")
    return f"{int(match.group(1))}.{int(match.group(2))}"


def e2e_tested_kubernetes(cilium_version: str) -> tuple[str, ...] | None:
    """Kubernetes minors the Cilium line of `cilium_version` is tested on, or None if unknown here."""
    return TESTED_KUBERNETES.get(minor_line(cilium_version))


def compat_warning(cilium_version: str, k8s_version: str) -> str | None:
    """None when `k8s_version` is in the tested list of `cilium_version`'s line, else a warning text."""
    line = minor_line(cilium_version)
    k8s_minor = minor_line(k8s_version)
    tested = TESTED_KUBERNETES.get(line)
    if tested is None:
        known = ", ".join(sorted(TESTED_KUBERNETES, key=_numeric))
        return (
            f"Cilium {cilium_version}: no tested-Kubernetes list is recorded for the {line} line "
            f"(known: {known}); check https://docs.cilium.io/en/v{line}/network/kubernetes/compatibility/ "
            f"before running it on Kubernetes {k8s_minor}"
        )
    if k8s_minor in tested:
        return None
    if line in OLDER_UNSUPPORTED and _numeric(k8s_minor) < _numeric(tested[0]):
        return (
            f"Kubernetes {k8s_minor} is UNSUPPORTED by Cilium {line}: older than its e2e-tested "
            f"{', '.join(tested)}, and the {line} compatibility page says older versions not listed "
            "do not have Cilium support"
        )
    return (
        f"Kubernetes {k8s_minor} is untested with Cilium {line} (e2e-tested: {', '.join(tested)}); "
        "it may work through Kubernetes API compatibility, but Cilium does not guarantee it"
    )


def _numeric(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.split("."))
