"""Check the deploy host before a real `pulumi preview/up`: python -m mesh.doctor [STACK] (make doctor).

Prints one line per check and exits 0 when the host can deploy STACK (default devstg), 1 when it cannot:

* the ``aws`` CLI and its version (pulumi-eks runs it at every construct: >= 2.7.0, or >= 1.24.0 on v1);
* the Pulumi CLI against the version the workflows pin (``.github/workflows/deploy.yml``);
* credentials (``aws sts get-caller-identity``) for one of the stack's ``aws:allowedAccountIds`` when set.

The same aws CLI and account checks run inside every real run before any resource
(mesh/components/live_checks.py); the rules are mesh/logic/host_rules.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mesh.logic import host_rules

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Probes:
    """How the host is asked; tests pass fakes. Each returns the command's stdout, or None when it failed."""

    aws_version: Callable[[], str | None]
    pulumi_version: Callable[[], str | None]
    caller_account: Callable[[], str | None]


def _run(command: Sequence[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # aws-cli v1 printed its version on stderr.
    return (result.stdout or result.stderr) if result.returncode == 0 else None


def _caller_account() -> str | None:
    out = _run(["aws", "sts", "get-caller-identity", "--output", "json"])
    try:
        return str(json.loads(out)["Account"]) if out else None
    except (ValueError, KeyError):
        return None


HOST = Probes(
    aws_version=lambda: _run(["aws", "--version"]),
    pulumi_version=lambda: _run(["pulumi", "version"]),
    caller_account=_caller_account,
)


def allowed_accounts(stack: str, root: Path = ROOT) -> list[str]:
    """``aws:allowedAccountIds`` of the stack file (empty when unset or the file is missing)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return []
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return [str(a) for a in config.get("aws:allowedAccountIds") or []]


def checks(stack: str, probes: Probes = HOST, root: Path = ROOT) -> list[tuple[str, str | None]]:
    """``(name, problem or None)`` for each check, in order."""
    pin = host_rules.pinned_pulumi_version((root / ".github" / "workflows" / "deploy.yml").read_text())
    return [
        ("aws CLI", host_rules.aws_cli_problem(probes.aws_version())),
        ("Pulumi CLI", host_rules.pulumi_cli_problem(probes.pulumi_version(), pin)),
        (
            f"AWS credentials for {stack}",
            host_rules.account_problem(probes.caller_account(), allowed_accounts(stack, root)),
        ),
    ]


def main(argv: Sequence[str] | None = None, probes: Probes = HOST) -> int:
    parser = argparse.ArgumentParser(prog="python -m mesh.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", nargs="?", default="devstg", help="stack name (default devstg)")
    args = parser.parse_args(argv)
    failed = 0
    for name, problem in checks(args.stack, probes):
        print(f"{'FAIL' if problem else 'ok  '}  {name}{': ' + problem if problem else ''}")
        failed += problem is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
