"""What the deploy host must have before `pulumi preview/up` can work (pure; the probes are elsewhere).

Sources:

* pulumi-eks ``nodejs/eks/dependencies.ts`` ``assertCompatibleAWSCLIExists``: every ``eks.Cluster``
  construct, preview included, runs ``aws --version`` and needs aws-cli >= 1.24.0 on v1, >= 2.7.0 otherwise;
  its kubeconfig runs ``aws eks get-token``.
* The Pulumi CLI version the workflows pin (``pulumi-version`` in ``.github/workflows/deploy.yml``), which
  is the version this program and its SDK pins were tested with.
* ``aws:allowedAccountIds``: the AWS provider refuses other accounts only at its first call; the host check
  says so first, naming the account the credentials belong to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

AWS_CLI_INSTALL = "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
AWS_CLI_MINIMUM = {1: (1, 24, 0), 2: (2, 7, 0)}
"""pulumi-eks dependencies.ts: v1 needs 1.24.0, any other major 2.7.0."""

_AWS_CLI = re.compile(r"^aws-cli/(\d+)\.(\d+)\.(\d+)")
_PULUMI = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")
_PIN = re.compile(r"pulumi-version:\s*['\"]?(\d+\.\d+\.\d+)")


def aws_cli_problem(version_output: str | None) -> str | None:
    """`version_output` is ``aws --version``'s stdout (None: not found)."""
    if version_output is None:
        return f"the aws CLI is not installed (pulumi-eks runs it at every preview and up): {AWS_CLI_INSTALL}"
    match = _AWS_CLI.match(version_output.strip())
    if match is None:
        return f"cannot read the aws CLI version from {version_output.strip()!r}"
    found = tuple(int(n) for n in match.groups())
    minimum = AWS_CLI_MINIMUM[1] if found[0] == 1 else AWS_CLI_MINIMUM[2]
    if found < minimum:
        need = ".".join(map(str, minimum))
        have = ".".join(map(str, found))
        return f"aws CLI {have} is too old: pulumi-eks needs at least {need} ({AWS_CLI_INSTALL})"
    return None


def pinned_pulumi_version(workflow_text: str) -> str | None:
    """The ``pulumi-version`` a workflow pins (the first one)."""
    match = _PIN.search(workflow_text)
    return match.group(1) if match else None


def pulumi_cli_problem(version_output: str | None, pinned: str | None) -> str | None:
    """``pulumi version`` against the workflows' pin: older is a problem (features and plugin protocol)."""
    if version_output is None:
        return "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/ (the workflows use " + (
            f"{pinned})" if pinned else "the version in .github/workflows/deploy.yml)"
        )
    match = _PULUMI.match(version_output.strip())
    if match is None:
        return f"cannot read the Pulumi CLI version from {version_output.strip()!r}"
    if pinned is not None:
        have = tuple(int(n) for n in match.groups())
        want = tuple(int(n) for n in pinned.split("."))
        if have < want:
            return f"Pulumi CLI {'.'.join(map(str, have))} is older than {pinned}, which the workflows pin"
    return None


def account_problem(account: str | None, allowed: Sequence[str]) -> str | None:
    """The credentials' account against ``aws:allowedAccountIds`` (None: no credentials)."""
    if account is None:
        return "no AWS credentials: export AWS_PROFILE or assume the stack role (README: Running it for real)"
    if allowed and account not in allowed:
        allowed_text = ", ".join(allowed)
        return f"the credentials are for account {account}, not one of aws:allowedAccountIds {allowed_text}"
    return None
