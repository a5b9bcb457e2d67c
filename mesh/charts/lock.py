"""The chart lock file (``cilium-charts.lock`` at the repository root): chart version -> sha256 digest.

Pure: no Pulumi, no network. Format, one entry per line, ``#`` comments and blank lines allowed::

    1.16.3 e1be328218c74bd2bed91f996d8c1b10e785715ce53299a392f79b0cef796805

The digest is that of ``cilium-VERSION.tgz`` as the official repository index lists it (Helm's index
``digest`` field is the archive's sha256). It is the only copy of the digests: the fetcher, the CI
workflow and the tests all read this file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mesh.logic.chart_index import RELEASE_RE, version_key

LOCK_FILE = Path(__file__).resolve().parent.parent.parent / "cilium-charts.lock"
LOCK_NAME = "cilium-charts.lock"
ADD_COMMAND = "python -m mesh.charts add VERSION"

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LockError(ValueError):
    """The lock file is malformed; ``problems`` lists every bad line (``file:line: what``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_lock(text: str, *, name: str = LOCK_NAME) -> dict[str, str]:
    """Version -> lowercase hex sha256, in file order. Raises :class:`LockError` listing every bad line:
    wrong field count, a version that is not a release ``X.Y.Z`` (stacks pin releases only), a digest
    that is not 64 lowercase hex digits, a version given twice."""
    digests: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        where = f"{name}:{number}"
        if len(fields) != 2:
            problems.append(f"{where}: expected 'VERSION SHA256', got {raw.strip()!r}")
            continue
        version, digest = fields
        if not RELEASE_RE.match(version):
            problems.append(f"{where}: {version!r} is not a release version like 1.16.3")
        if not _DIGEST.match(digest):
            problems.append(f"{where}: {digest!r} is not a sha256 (64 lowercase hex digits)")
        if version in digests:
            problems.append(f"{where}: version {version} is listed twice")
        if RELEASE_RE.match(version) and _DIGEST.match(digest):
            digests.setdefault(version, digest)
    if problems:
        raise LockError(problems)
    return digests


def with_digest(text: str, version: str, digest: str) -> str:
    """`text` with ``version`` locked to ``digest``: the header comments kept, entries sorted by version
    (numerically, so 1.16.19 follows 1.16.3). An existing entry for ``version`` is replaced."""
    if not RELEASE_RE.match(version) or not _DIGEST.match(digest):
        raise LockError([f"cannot lock {version!r} to {digest!r}"])
    entries = {**parse_lock(text), version: digest}
    header = []
    for raw in text.splitlines():
        if raw.split("#", 1)[0].strip():
            break
        header.append(raw)
    return "\n".join([*header, *serialize_entries(entries)]) + "\n"


def serialize_entries(digests: Mapping[str, str]) -> list[str]:
    """One ``VERSION SHA256`` line per entry, sorted by :func:`version_key`."""
    return [f"{v} {digests[v]}" for v in sorted(digests, key=version_key)]


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """The committed lock file, parsed (see :func:`parse_lock`)."""
    return parse_lock(path.read_text(), name=path.name)
