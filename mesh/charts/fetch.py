"""Getting ``cilium-<version>.tgz`` and the repository's ``index.yaml``, the way Helm does, verified.

An archive is resolved from, in order:

1. ``$CILIUM_CHARTS_DIR`` (read-only: never written to);
2. the user cache, ``$XDG_CACHE_HOME/cilium-mesh/charts`` (default ``~/.cache/cilium-mesh/charts``);
3. the chart repository: ``$CILIUM_CHART_REPO`` if set, else the stack's ``cilium.repository`` (default
   ``https://helm.cilium.io/``). Its ``index.yaml`` is downloaded, the entry's first URL resolved against
   the repository URL as Helm does, the archive downloaded and checked against the digest in
   ``cilium-charts.lock``, then written to the cache atomically (temp file + ``os.replace``) with the index.

Every archive, wherever it comes from, must have its locked sha256. Failures raise :class:`ChartError`
with a message meant for users (the CLIs print it and exit 2): a version that is not locked (and how to
lock it), a digest mismatch (both digests named, nothing cached), a repository that cannot be reached while
nothing is cached (``CILIUM_CHARTS_DIR`` and the repository URL named).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mesh.charts.lock import ADD_COMMAND, LOCK_FILE, LockError, read_lock
from mesh.logic.cache_dirs import cache_root
from mesh.logic.chart_index import CHART_NAME, ChartIndex, parse_index

CHARTS_DIR_ENV = "CILIUM_CHARTS_DIR"
REPO_ENV = "CILIUM_CHART_REPO"
DEFAULT_REPOSITORY = "https://helm.cilium.io/"
INDEX_NAME = "index.yaml"
TIMEOUT_SECONDS = 30.0
# Bounds on what a (possibly hostile) server may make us read: the official index is ~2 MB, an archive
# ~0.2 MB.
MAX_INDEX_BYTES = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 16 * 1024 * 1024

# Repositories found unreachable in this process -> (message, reason): later lookups fail at once instead
# of waiting for a timeout again (a test session without network resolves dozens of charts).
_unreachable: dict[str, tuple[str, str]] = {}


class ChartError(Exception):
    """A chart archive or index cannot be had or is wrong; ``str()`` is the message for users."""


class ChartUnavailable(ChartError):
    """The repository cannot be reached or refuses the download (nothing wrong with what we have).
    ``reason`` is the short form, without the advice (default: the whole message)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def archive_name(version: str) -> str:
    return f"{CHART_NAME}-{version}.tgz"


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cilium-mesh/charts``; ``~/.cache`` when the variable is unset, empty or relative
    (the XDG Base Directory spec says to ignore relative paths)."""
    return cache_root(env) / "charts"


def repository_url(configured: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``$CILIUM_CHART_REPO``, else `configured` (the stack's ``cilium.repository``), else the official
    repository."""
    env = os.environ if env is None else env
    return env.get(REPO_ENV) or configured or DEFAULT_REPOSITORY


def resolve_reference_url(base_url: str, ref_url: str) -> str:
    """Helm's ``repo.ResolveReferenceURL`` (helm pkg/repo/chartrepo.go): an absolute `ref_url` is returned
    as is; a relative one is resolved against `base_url` *with a trailing slash added*, so
    ``https://h/charts`` + ``c.tgz`` is ``https://h/charts/c.tgz`` (plain RFC 3986 would drop ``charts``),
    and the base's query string (e.g. a token) is carried over to the result."""
    ref = urllib.parse.urlsplit(ref_url)
    if ref.scheme:
        return ref_url
    base = urllib.parse.urlsplit(base_url)
    base = base._replace(path=base.path.removesuffix("/") + "/")
    joined = urllib.parse.urlsplit(urllib.parse.urljoin(urllib.parse.urlunsplit(base), ref_url))
    return urllib.parse.urlunsplit(joined._replace(query=base.query))


@dataclass(frozen=True)
class ChartSources:
    """Where archives come from. Defaults: see :meth:`from_env`."""

    charts_dir: Path | None
    cache_dir: Path
    repository: str
    lock: Mapping[str, str] = field(repr=False)
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_env(
        cls,
        repository: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        lock_file: Path = LOCK_FILE,
    ) -> ChartSources:
        """``$CILIUM_CHARTS_DIR`` (if set), the user cache, :func:`repository_url` of `repository`, and the
        committed lock file (a malformed one is a :class:`ChartError`)."""
        env = os.environ if env is None else env
        try:
            lock = read_lock(lock_file)
        except LockError as err:
            raise ChartError(f"{lock_file.name} is malformed:\n  " + "\n  ".join(err.problems)) from None
        configured = env.get(CHARTS_DIR_ENV)
        return cls(
            charts_dir=Path(configured) if configured else None,
            cache_dir=user_cache_dir(env),
            repository=repository_url(repository, env),
            lock=lock,
        )

    def local_archive(self, version: str) -> Path | None:
        """The verified archive from ``$CILIUM_CHARTS_DIR`` or the cache, without any network access.

        Raises :class:`ChartError` for a version that is not locked, or an archive in
        ``$CILIUM_CHARTS_DIR`` whose digest is not the locked one. A cached archive that does not match
        is ignored (it gets downloaded again)."""
        expected = self.locked_digest(version)
        if self.charts_dir is not None:
            candidate = self.charts_dir / archive_name(version)
            if candidate.is_file():
                actual = sha256_file(candidate)
                if actual != expected:
                    raise ChartError(_mismatch(version, str(candidate), expected, actual))
                return candidate
        cached = self.cache_dir / archive_name(version)
        if cached.is_file() and sha256_file(cached) == expected:
            return cached
        return None

    def local_index_file(self) -> Path | None:
        """``index.yaml`` in ``$CILIUM_CHARTS_DIR``, else in the cache, else None (no network access)."""
        for directory in (self.charts_dir, self.cache_dir):
            if directory is not None and (directory / INDEX_NAME).is_file():
                return directory / INDEX_NAME
        return None

    def locked_digest(self, version: str) -> str:
        digest = self.lock.get(version)
        if digest is None:
            raise ChartError(
                f"Cilium chart {version} is not in {LOCK_FILE.name} (locked: {', '.join(self.lock)}). "
                f"Lock its official digest with: {ADD_COMMAND.replace('VERSION', version)}"
            )
        return digest


def resolve_chart(version: str, repository: str | None = None, sources: ChartSources | None = None) -> Path:
    """Path of the verified ``cilium-<version>.tgz``, downloading and caching it when needed (see the
    module docstring for the order). Raises :class:`ChartError`."""
    sources = sources or ChartSources.from_env(repository)
    local = sources.local_archive(version)
    if local is not None:
        return local
    expected = sources.locked_digest(version)
    index_bytes = _download_index(sources)
    index = _parse(index_bytes, sources.repository)
    entry = index.get(version)
    if entry is None:
        raise ChartError(f"the chart repository {sources.repository} does not publish cilium {version}")
    if not entry.urls:
        index_url = resolve_reference_url(sources.repository, INDEX_NAME)
        raise ChartError(f"cilium {version} has no download URL in {index_url}")
    # Helm downloads the first URL only (FindChartInAuthAndTLSAndPassRepoURL: cv.URLs[0]).
    url = resolve_reference_url(sources.repository, entry.urls[0])
    data = _get(url, sources, limit=MAX_ARCHIVE_BYTES)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ChartError(_mismatch(version, url, expected, actual) + "; nothing was cached")
    path = write_atomically(sources.cache_dir, archive_name(version), data)
    write_atomically(sources.cache_dir, INDEX_NAME, index_bytes)
    return path


def load_index(repository: str | None = None, sources: ChartSources | None = None) -> ChartIndex:
    """The repository index: ``$CILIUM_CHARTS_DIR/index.yaml``, else the cached one (written by every
    download; like Helm, it is refreshed only on request: ``python -m mesh.charts update``), else
    downloaded from the repository and cached. Raises :class:`ChartError`."""
    sources = sources or ChartSources.from_env(repository)
    local = sources.local_index_file()
    return _parse(local.read_bytes(), str(local)) if local else update_index(sources)


def update_index(sources: ChartSources) -> ChartIndex:
    """Download the repository's index and replace the cached copy (``helm repo update``)."""
    data = _download_index(sources)
    index = _parse(data, sources.repository)
    write_atomically(sources.cache_dir, INDEX_NAME, data)
    return index


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_index(sources: ChartSources) -> bytes:
    # Helm: DownloadIndexFile fetches ResolveReferenceURL(repo, "index.yaml").
    return _get(resolve_reference_url(sources.repository, INDEX_NAME), sources, limit=MAX_INDEX_BYTES)


def _parse(data: bytes, origin: str) -> ChartIndex:
    try:
        return parse_index(data.decode("utf-8"))
    except (ValueError, yaml.YAMLError) as err:
        raise ChartError(f"{origin}: not a Helm repository index ({err})") from None


def _get(url: str, sources: ChartSources, *, limit: int) -> bytes:
    known = _unreachable.get(sources.repository)
    if known is not None:
        raise ChartUnavailable(*known)
    request = urllib.request.Request(url, headers={"User-Agent": "cilium-mesh-charts"})
    try:
        with urllib.request.urlopen(request, timeout=sources.timeout) as response:
            data: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as err:
        # The server answered: not remembered, another version may well be there.
        reason = f"the chart repository {sources.repository} answered {url} with HTTP {err.code} {err.reason}"
        raise ChartUnavailable(_unavailable(reason, sources), reason) from None
    except (urllib.error.URLError, OSError) as err:
        cause: Any = getattr(err, "reason", err)
        where = "" if url.startswith(sources.repository.rstrip("/")) else f" at {url}"
        reason = f"cannot reach the chart repository {sources.repository}{where} ({cause})"
        _unreachable[sources.repository] = (_unavailable(reason, sources), reason)
        raise ChartUnavailable(*_unreachable[sources.repository]) from None
    if len(data) > limit:
        raise ChartError(f"{url}: larger than {limit} bytes, refusing it")
    return data


def _unavailable(reason: str, sources: ChartSources) -> str:
    return (
        f"{reason} and no verified copy is in ${CHARTS_DIR_ENV} ({sources.charts_dir or 'unset'}) or "
        f"the cache ({sources.cache_dir}). Set {CHARTS_DIR_ENV} to a directory holding the archives, "
        f"or {REPO_ENV} to a reachable mirror."
    )


def _mismatch(version: str, where: str, expected: str, actual: str) -> str:
    return (
        f"digest mismatch for cilium {version} from {where}: {LOCK_FILE.name} has sha256 {expected}, "
        f"the archive has sha256 {actual}"
    )


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` to `directory/name` so readers see the old file or the whole new one, never a part."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    except OSError as err:
        raise ChartError(f"cannot write the chart cache {directory} ({err}); set XDG_CACHE_HOME") from None
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / name
