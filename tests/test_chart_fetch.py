"""Getting chart archives like Helm does: a real download from a loopback HTTP mirror of the official
repository (the shared ``index.yaml`` and archives, byte for byte), Helm's URL resolution, the lock-file
digest check, atomic caching, the cache used once the repository is gone, and clean exits on failure."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from mesh.charts import cli, fetch
from mesh.charts.fetch import (
    ChartError,
    ChartSources,
    ChartUnavailable,
    load_index,
    resolve_chart,
    resolve_reference_url,
    user_cache_dir,
)
from mesh.charts.lock import read_lock
from mesh.plan.cli import main as plan_main
from tests.chart_archives import closed_port_url, need_chart, need_index

ROOT = Path(__file__).resolve().parent.parent
LOCKED = read_lock()
RUNBOOK = "1.19.6"  # devstg's version (the plan test renders devstg from the mirror)
OTHER = "1.18.12"


@pytest.fixture(scope="session")
def official() -> dict[str, bytes]:
    """The official index.yaml and two archives, as the resolver finds them for the rest of the suite
    (read before any test changes the environment)."""
    files = {"index.yaml": need_index().read_bytes()}
    for version in (RUNBOOK, OTHER):
        files[f"cilium-{version}.tgz"] = need_chart(version).read_bytes()
    return files


class Mirror:
    """A loopback HTTP server answering GET for a fixed {path: body}; 404 otherwise. Records every path.
    ``official`` holds the official files it can serve (see :meth:`serve_official`)."""

    def __init__(self, official: dict[str, bytes]) -> None:
        self.official = official
        self.routes: dict[str, bytes] = {}
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold the server

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                body = mirror.routes.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve_official(self, base: str, *versions: str) -> None:
        """The official index, byte for byte (its urls are relative), and the archives beside it."""
        self.routes[f"{base}/index.yaml"] = self.official["index.yaml"]
        for version in versions:
            self.routes[f"{base}/cilium-{version}.tgz"] = self.official[f"cilium-{version}.tgz"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def mirror(official: dict[str, bytes]) -> Iterator[Mirror]:
    served = Mirror(official)
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no repository remembered as unreachable."""
    monkeypatch.setattr(fetch, "_unreachable", {})


def sources_for(repository: str, cache: Path, charts_dir: Path | None = None) -> ChartSources:
    return ChartSources(
        charts_dir=charts_dir, cache_dir=cache, repository=repository, lock=LOCKED, timeout=5.0
    )


# --- Helm's URL resolution (helm pkg/repo/chartrepo.go ResolveReferenceURL) ---------------------------


@pytest.mark.parametrize(
    ("base", "ref", "expected"),
    [
        # The official repository: relative names beside index.yaml.
        ("https://helm.cilium.io/", "cilium-1.16.3.tgz", "https://helm.cilium.io/cilium-1.16.3.tgz"),
        ("https://helm.cilium.io", "index.yaml", "https://helm.cilium.io/index.yaml"),
        # Helm adds the trailing slash first: the last path segment of the base is kept.
        ("https://mirror.example/charts", "c.tgz", "https://mirror.example/charts/c.tgz"),
        ("https://mirror.example/a/b/", "../c.tgz", "https://mirror.example/a/c.tgz"),
        ("https://mirror.example/charts", "/dl/c.tgz", "https://mirror.example/dl/c.tgz"),
        # The base's query (e.g. a token) is carried over; the reference's own query is replaced by it.
        ("https://mirror.example/charts?t=1", "c.tgz", "https://mirror.example/charts/c.tgz?t=1"),
        ("https://mirror.example/charts", "c.tgz?x=2", "https://mirror.example/charts/c.tgz"),
        # Absolute references are returned untouched.
        ("https://mirror.example/charts", "https://cdn.example/c.tgz?x=2", "https://cdn.example/c.tgz?x=2"),
    ],
)
def test_urls_resolve_as_helm_resolves_them(base: str, ref: str, expected: str) -> None:
    assert resolve_reference_url(base, ref) == expected


# --- where archives come from ------------------------------------------------------------------------


def test_download_follows_relative_urls_verifies_and_caches(mirror: Mirror, tmp_path: Path) -> None:
    mirror.serve_official("/charts", RUNBOOK)
    # No trailing slash on the repository URL: Helm's rule keeps "/charts".
    sources = sources_for(f"{mirror.url}/charts", tmp_path / "cache")
    path = resolve_chart(RUNBOOK, sources=sources)
    assert mirror.requests == ["/charts/index.yaml", f"/charts/cilium-{RUNBOOK}.tgz"]
    assert path == tmp_path / "cache" / f"cilium-{RUNBOOK}.tgz"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LOCKED[RUNBOOK]
    assert (tmp_path / "cache" / "index.yaml").read_bytes() == mirror.official["index.yaml"]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [f"cilium-{RUNBOOK}.tgz", "index.yaml"]

    # Second run: the repository is gone, the cache answers.
    mirror.stop()
    gone = sources_for(closed_port_url(), tmp_path / "cache")
    assert resolve_chart(RUNBOOK, sources=gone) == path
    assert load_index(sources=gone).get(RUNBOOK) is not None


def test_download_follows_absolute_urls(mirror: Mirror, tmp_path: Path) -> None:
    body = mirror.official[f"cilium-{OTHER}.tgz"]
    mirror.routes["/elsewhere/archive.tgz"] = body
    entry = {"version": OTHER, "digest": LOCKED[OTHER], "urls": [f"{mirror.url}/elsewhere/archive.tgz"]}
    index = {"apiVersion": "v1", "entries": {"cilium": [entry]}}
    mirror.routes["/repo/index.yaml"] = yaml.safe_dump(index).encode()
    path = resolve_chart(OTHER, sources=sources_for(f"{mirror.url}/repo/", tmp_path / "cache"))
    assert mirror.requests == ["/repo/index.yaml", "/elsewhere/archive.tgz"]
    assert path.read_bytes() == body


def test_a_tampered_archive_names_both_digests_and_caches_nothing(mirror: Mirror, tmp_path: Path) -> None:
    mirror.serve_official("/charts", RUNBOOK)
    tampered = mirror.routes[f"/charts/cilium-{RUNBOOK}.tgz"] + b"x"
    mirror.routes[f"/charts/cilium-{RUNBOOK}.tgz"] = tampered
    cache = tmp_path / "cache"
    with pytest.raises(ChartError) as err:
        resolve_chart(RUNBOOK, sources=sources_for(f"{mirror.url}/charts", cache))
    assert not isinstance(err.value, ChartUnavailable)  # a test seeing this fails, never skips
    message = str(err.value)
    assert LOCKED[RUNBOOK] in message and hashlib.sha256(tampered).hexdigest() in message
    assert "nothing was cached" in message
    assert not cache.exists() or list(cache.iterdir()) == []  # not the archive, not the index, no temp file


def test_an_unreachable_repository_names_the_directory_variable_and_the_url(tmp_path: Path) -> None:
    repository = closed_port_url()
    with pytest.raises(ChartUnavailable) as err:
        resolve_chart(RUNBOOK, sources=sources_for(repository, tmp_path / "cache"))
    assert "CILIUM_CHARTS_DIR" in str(err.value) and repository in str(err.value)
    # Remembered for the rest of the process: no second connection attempt, same message.
    message, reason = fetch._unreachable[repository]
    fetch._unreachable[repository] = (f"{message} (remembered)", reason)
    with pytest.raises(ChartUnavailable, match=r"\(remembered\)"):
        resolve_chart(OTHER, sources=sources_for(repository, tmp_path / "cache"))


def test_a_missing_archive_on_the_mirror_is_unavailable_with_advice(mirror: Mirror, tmp_path: Path) -> None:
    mirror.serve_official("/charts")  # the index, but no archive
    sources = sources_for(f"{mirror.url}/charts", tmp_path / "cache")
    with pytest.raises(ChartUnavailable) as err:
        resolve_chart(RUNBOOK, sources=sources)
    assert f"{mirror.url}/charts/cilium-{RUNBOOK}.tgz with HTTP 404" in str(err.value)
    assert "CILIUM_CHARTS_DIR" in str(err.value)
    assert fetch._unreachable == {}  # the server answered: the next version may be there
    assert not (tmp_path / "cache").exists()


def test_a_version_not_in_the_lock_file_says_how_to_add_it(tmp_path: Path) -> None:
    with pytest.raises(ChartError) as err:
        resolve_chart("1.15.0", sources=sources_for(closed_port_url(), tmp_path / "cache"))
    assert "python -m mesh.charts add 1.15.0" in str(err.value)
    assert not isinstance(err.value, ChartUnavailable)


def test_the_charts_directory_comes_first_and_is_never_written(mirror: Mirror, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / f"cilium-{RUNBOOK}.tgz").write_bytes(mirror.official[f"cilium-{RUNBOOK}.tgz"])
    (local / "cilium-0.0.1.tgz").write_bytes(b"an extra, unlocked archive is fine")
    local.chmod(0o555)
    try:
        sources = sources_for(mirror.url, tmp_path / "cache", charts_dir=local)
        assert resolve_chart(RUNBOOK, sources=sources) == local / f"cilium-{RUNBOOK}.tgz"
    finally:
        local.chmod(0o755)
    assert mirror.requests == [] and not (tmp_path / "cache").exists()


def test_a_wrong_archive_in_the_charts_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / f"cilium-{RUNBOOK}.tgz").write_bytes(b"not the chart")
    with pytest.raises(ChartError) as err:
        resolve_chart(RUNBOOK, sources=sources_for(closed_port_url(), tmp_path / "cache", tmp_path))
    assert LOCKED[RUNBOOK] in str(err.value) and hashlib.sha256(b"not the chart").hexdigest() in str(
        err.value
    )


def test_a_corrupt_cached_archive_is_downloaded_again(mirror: Mirror, tmp_path: Path) -> None:
    mirror.serve_official("/charts", RUNBOOK)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"cilium-{RUNBOOK}.tgz").write_bytes(b"truncated")
    path = resolve_chart(RUNBOOK, sources=sources_for(f"{mirror.url}/charts", cache))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == LOCKED[RUNBOOK]


def test_the_index_comes_from_the_charts_directory_then_the_cache_then_the_repository(
    mirror: Mirror, tmp_path: Path
) -> None:
    def index_with(version: str) -> bytes:
        entry = {"version": version, "digest": "0" * 64, "urls": [f"cilium-{version}.tgz"]}
        return yaml.safe_dump({"apiVersion": "v1", "entries": {"cilium": [entry]}}).encode()

    local, cache = tmp_path / "local", tmp_path / "cache"
    mirror.routes["/index.yaml"] = index_with("9.9.3")
    from_repo = load_index(sources=sources_for(mirror.url, cache, local))
    assert from_repo.get("9.9.3") is not None
    assert (cache / "index.yaml").read_bytes() == index_with("9.9.3")
    (cache / "index.yaml").write_bytes(index_with("9.9.2"))
    assert load_index(sources=sources_for(mirror.url, cache, local)).get("9.9.2") is not None
    local.mkdir()
    (local / "index.yaml").write_bytes(index_with("9.9.1"))
    assert load_index(sources=sources_for(mirror.url, cache, local)).get("9.9.1") is not None
    assert mirror.requests == ["/index.yaml"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}, "/x/cache/cilium-mesh/charts"),
        ({"HOME": "/home/u"}, "/home/u/.cache/cilium-mesh/charts"),
        ({"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.cache/cilium-mesh/charts"),
        # The XDG spec: a relative path is invalid and ignored.
        ({"XDG_CACHE_HOME": "rel/cache", "HOME": "/home/u"}, "/home/u/.cache/cilium-mesh/charts"),
    ],
)
def test_user_cache_directory(env: dict[str, str], expected: str) -> None:
    assert user_cache_dir(env) == Path(expected)


def test_environment_picks_the_directory_cache_and_repository(tmp_path: Path) -> None:
    env = {"CILIUM_CHARTS_DIR": "/ro/charts", "XDG_CACHE_HOME": "/c", "CILIUM_CHART_REPO": "http://m/"}
    sources = ChartSources.from_env("https://helm.cilium.io/", env=env)
    assert (sources.charts_dir, sources.cache_dir) == (Path("/ro/charts"), Path("/c/cilium-mesh/charts"))
    assert sources.repository == "http://m/"  # the variable overrides cilium.repository
    assert (
        ChartSources.from_env("https://own.example/", env={"HOME": "/h"}).repository == "https://own.example/"
    )
    bad_lock = tmp_path / "cilium-charts.lock"
    bad_lock.write_text("1.16.3 nope\n")
    with pytest.raises(ChartError, match=r"cilium-charts.lock:1: 'nope' is not a sha256"):
        ChartSources.from_env(env={"HOME": "/h"}, lock_file=bad_lock)


# --- the command ---------------------------------------------------------------------------------------


@pytest.fixture
def command_env(official: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The command's environment: no charts directory, a private cache."""
    monkeypatch.delenv("CILIUM_CHARTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cilium-mesh" / "charts"


def test_fetch_command_downloads_then_works_offline(
    mirror: Mirror, command_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror.serve_official("", RUNBOOK, OTHER)
    monkeypatch.setenv("CILIUM_CHART_REPO", mirror.url)
    assert cli.main(["fetch", RUNBOOK, OTHER]) == 0
    assert capsys.readouterr().out.split() == [str(command_env / f"cilium-{v}.tgz") for v in (RUNBOOK, OTHER)]
    mirror.stop()
    assert cli.main(["fetch", RUNBOOK]) == 0


def test_fetch_command_exits_2_without_a_traceback(
    command_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = closed_port_url()
    monkeypatch.setenv("CILIUM_CHART_REPO", repository)
    assert cli.main(["fetch", RUNBOOK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the chart repository") and repository in err
    assert "Traceback" not in err
    assert cli.main(["fetch", "1.15.0"]) == 2
    assert "python -m mesh.charts add 1.15.0" in capsys.readouterr().err


def test_add_locks_the_digest_the_official_index_publishes(
    mirror: Mirror, command_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    official = yaml.load(mirror.official["index.yaml"], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    published = {e["version"]: e["digest"] for e in official["entries"]["cilium"]}
    mirror.serve_official("")
    monkeypatch.setenv("CILIUM_CHART_REPO", mirror.url)
    lock = tmp_path / "cilium-charts.lock"
    lock.write_text(f"# header\n{RUNBOOK} {LOCKED[RUNBOOK]}\n")
    assert cli.add("1.20.0", lock_file=lock) == 0
    assert lock.read_text() == f"# header\n{RUNBOOK} {LOCKED[RUNBOOK]}\n1.20.0 {published['1.20.0']}\n"
    with pytest.raises(ChartError, match=r"does not publish cilium 1\.99\.0"):
        cli.add("1.99.0", lock_file=lock)
    before = lock.read_text()
    assert cli.add(RUNBOOK, lock_file=lock) == 0 and lock.read_text() == before  # already locked, same
    # A published archive whose digest changed is refused, never re-locked silently.
    lock.write_text(f"{RUNBOOK} {'0' * 64}\n")
    with pytest.raises(ChartError, match="the published archive changed"):
        cli.add(RUNBOOK, lock_file=lock)
    assert lock.read_text() == f"{RUNBOOK} {'0' * 64}\n"


# --- the README's main job from a fresh copy of the project, with no ../shared beside it -----------------


def test_plan_renders_from_a_mirror_then_from_the_cache_alone(mirror: Mirror, tmp_path: Path) -> None:
    """``make plan``'s command in a copy of the project whose parent holds no ``shared/``: the charts come
    from a loopback mirror of the official repository; the second run, mirror gone, from the cache."""
    project = tmp_path / "clone" / "cilium-mesh"
    ignore = shutil.ignore_patterns("venv", ".git", "out", "__pycache__", ".*_cache", ".hypothesis")
    shutil.copytree(ROOT, project, ignore=ignore)
    mirror.serve_official("/cilium", RUNBOOK)
    env = {k: v for k, v in os.environ.items() if k not in {"CILIUM_CHARTS_DIR", "CILIUM_CHART_REPO"}}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "CILIUM_CHART_REPO": f"{mirror.url}/cilium"}

    def plan(out: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mesh.plan", "devstg", "--render-dir", out]
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)

    first = plan("out/first")
    assert first.returncode == 0, first.stderr
    assert mirror.requests == ["/cilium/index.yaml", f"/cilium/cilium-{RUNBOOK}.tgz"]
    config = project / "out/first/bb-apps-devstg-eks-training/cilium/templates/cilium-configmap.yaml"
    (cilium_config,) = [d for d in yaml.safe_load_all(config.read_text()) if d]
    assert cilium_config["data"]["cluster-name"] == "bb-apps-devstg-eks-training"

    mirror.stop()
    second = plan("out/second")
    assert second.returncode == 0, second.stderr
    assert (project / "out/second").is_dir() and len(mirror.requests) == 2


def test_plan_without_any_chart_source_exits_2_with_a_message(
    command_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = closed_port_url()
    monkeypatch.setenv("CILIUM_CHART_REPO", repository)
    assert plan_main(["devstg", "--render-dir", str(tmp_path / "rendered")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot render the Cilium chart: cannot reach the chart repository")
    assert "CILIUM_CHARTS_DIR" in err and repository in err and "Traceback" not in err


# --- a real run's index: fetched when no fresh copy is at hand (issue 17 item 3) ----------------------


def test_a_real_run_reads_the_index_from_the_repository_when_none_is_local(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh.charts import versions

    mirror.serve_official("/charts")
    monkeypatch.delenv("CILIUM_CHARTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    index = tmp_path / "xdg" / "cilium-mesh" / "charts" / "index.yaml"
    monkeypatch.setattr(versions, "index_paths", lambda: [index])
    found, why = versions.live_published_versions(f"{mirror.url}/charts", today=date(2026, 12, 8))
    assert why is None and found is not None and RUNBOOK in found
    assert mirror.requests == ["/charts/index.yaml"]
    # Written today: the next run asks nobody.
    today = datetime.fromtimestamp(index.stat().st_mtime, UTC).date()
    again, why = versions.live_published_versions(f"{mirror.url}/charts", today=today)
    assert again == found and why is None and mirror.requests == ["/charts/index.yaml"]
    # A day later the copy is stale; with the repository gone the stale copy answers, and says so.
    stale, why = versions.live_published_versions(closed_port_url(), today=today + timedelta(days=1))
    assert stale == found
    assert why is not None and "could not be read" in why
