"""Where ``mesh.verify`` gets its facts: the stack's outputs, and each cluster's API behind one protocol.

``ClusterClient`` is the only boundary to a live cluster. ``KubernetesClusterClient`` implements it with the
official ``kubernetes`` client and hands back objects as raw API JSON (camelCase dicts, exactly what
``kubectl get -o json`` shows), so tests can feed recorded objects to a fake with the same shape.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import yaml

from mesh.verify.checks import ExecResult


class ConfigError(Exception):
    """The stack outputs cannot drive a verification (missing, malformed); the CLI exits 2."""


class ClusterAccessError(Exception):
    """A cluster could not be read (unreachable, auth failure, API error); reported as a failed check."""


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster of the ``clusters`` stack output; ``name`` is the output's key, the Cilium cluster name."""

    name: str
    kubeconfig: Mapping[str, Any]
    pod_cidr: str
    vpc_cidr: str | None = None
    mesh_endpoint: str | None = None
    endpoint: str | None = None
    cluster_id: Any = None


@dataclass(frozen=True)
class StackInfo:
    """What verification needs from a stack: its clusters (in output order) and whether the demo is on."""

    stack: str
    clusters: tuple[ClusterInfo, ...]
    demo: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clusters]


Runner = Callable[..., subprocess.CompletedProcess[str]]


def read_stack_outputs(
    stack: str, outputs_file: str | None = None, run: Runner = subprocess.run
) -> dict[str, Any]:
    """Raw stack outputs: from ``outputs_file`` (JSON) when given, else ``pulumi stack output --json
    --show-secrets --stack STACK`` (run in the current directory, the Pulumi project root)."""
    if outputs_file is not None:
        try:
            text = Path(outputs_file).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read outputs file {outputs_file}: {err.strerror or err}") from err
        source = outputs_file
    else:
        cmd = ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack]
        try:
            proc = run(cmd, capture_output=True, text=True, check=False)
        except FileNotFoundError as err:
            raise ConfigError("pulumi CLI not found on PATH; install it or pass --outputs-file PATH") from err
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip() or f"exit {proc.returncode}"
            raise ConfigError(f"`{' '.join(cmd)}` failed: {detail}")
        text = proc.stdout
        source = "pulumi stack output"
    try:
        outputs = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{source} is not JSON: {err}") from err
    if not isinstance(outputs, dict):
        raise ConfigError(f"{source} is not a JSON object of stack outputs")
    return outputs


def _kubeconfig(name: str, value: Any) -> Mapping[str, Any]:
    """pulumi-eks kubeconfigs arrive as an object or as a JSON/YAML string; YAML parses both."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as err:
            # No parser detail: it would quote kubeconfig lines, which may hold credentials.
            mark = getattr(err, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ConfigError(f"stack output clusters.{name}.kubeconfig is not JSON/YAML{where}") from None
    if not isinstance(value, dict) or not value.get("clusters"):
        raise ConfigError(f"stack output clusters.{name}.kubeconfig is not a kubeconfig")
    problems = kubeconfig_problems(value)
    if problems:
        raise ConfigError(
            f"stack output clusters.{name}.kubeconfig is not a usable kubeconfig: " + "; ".join(problems)
        )
    return value


def _named(entries: Any, key: str) -> dict[str, Mapping[str, Any]]:
    """``{name: entry[key]}`` of a kubeconfig list (``clusters``, ``contexts``, ``users``)."""
    found: dict[str, Mapping[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            body = entry.get(key)
            found[entry["name"]] = body if isinstance(body, Mapping) else {}
    return found


def kubeconfig_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps the ``kubernetes`` client (kube_config.py, ``KubeConfigLoader``) from using ``config``
    to reach a cluster: its current context, that context's cluster and user, the cluster's ``server`` URL
    and CA data. Messages name keys only, never values that may be credentials."""
    contexts = _named(config.get("contexts"), "context")
    clusters = _named(config.get("clusters"), "cluster")
    users = _named(config.get("users"), "user")
    current = config.get("current-context")
    if not isinstance(current, str) or not current:
        return ["current-context is not set"]
    if current not in contexts:
        return [f"current-context {current!r} names no entry of contexts ({', '.join(contexts) or 'none'})"]
    problems = []
    context = contexts[current]
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if cluster_name not in clusters:
        problems.append(f"context {current!r} names cluster {cluster_name!r}, which is not in clusters")
    else:
        cluster = clusters[cluster_name]
        server = cluster.get("server")
        parsed = urlparse(server) if isinstance(server, str) else None
        if parsed is None or parsed.scheme not in ("https", "http") or not parsed.hostname:
            problems.append(f"cluster {cluster_name!r} has no server URL (https://host)")
        ca_data = cluster.get("certificate-authority-data")
        if ca_data is not None and not _is_base64(ca_data):
            problems.append(f"cluster {cluster_name!r}: certificate-authority-data is not base64")
    # The client treats a missing user as anonymous (get_with_name(..., safe=True)); EKS then answers 401.
    if user_name is not None and user_name not in users:
        problems.append(f"context {current!r} names user {user_name!r}, which is not in users")
    elif user_name is not None:
        exec_ = users[user_name].get("exec")
        if exec_ is not None and not (isinstance(exec_, Mapping) and isinstance(exec_.get("command"), str)):
            problems.append(f"user {user_name!r}: exec has no command (pulumi-eks uses `aws eks get-token`)")
    return problems


def _is_base64(value: Any) -> bool:
    try:
        base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _cidr(name: str, key: str, value: Any, required: bool) -> str | None:
    if value in (None, ""):
        if required:
            raise ConfigError(f"stack output clusters.{name}.{key} is missing")
        return None
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError as err:
        raise ConfigError(f"stack output clusters.{name}.{key} is not a CIDR: {value!r}") from err
    return str(value)


def parse_stack_outputs(stack: str, outputs: Mapping[str, Any]) -> StackInfo:
    """Validate the ``clusters`` and ``demo`` outputs; every problem is a ``ConfigError`` naming the key."""
    clusters = outputs.get("clusters")
    if not clusters:
        raise ConfigError(f"stack {stack} has no `clusters` output (has `pulumi up` completed?)")
    if not isinstance(clusters, dict):
        raise ConfigError("stack output `clusters` must map cluster names to objects")
    infos: list[ClusterInfo] = []
    for name, entry in clusters.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"stack output clusters.{name} must be an object")
        if "kubeconfig" not in entry:
            raise ConfigError(f"stack output clusters.{name}.kubeconfig is missing")
        infos.append(
            ClusterInfo(
                name=str(name),
                kubeconfig=_kubeconfig(name, entry["kubeconfig"]),
                pod_cidr=str(_cidr(name, "podCidr", entry.get("podCidr"), required=True)),
                vpc_cidr=_cidr(name, "vpcCidr", entry.get("vpcCidr"), required=False),
                mesh_endpoint=entry.get("meshEndpoint") or None,
                endpoint=entry.get("endpoint") or None,
                cluster_id=entry.get("id"),
            )
        )
    return StackInfo(stack=stack, clusters=tuple(infos), demo=bool(outputs.get("demo", False)))


class ClusterClient(Protocol):
    """Read-only view of one cluster. Objects are raw API JSON dicts; a missing object is None.

    Implementations raise ``ClusterAccessError`` for anything that prevents reading the cluster.
    """

    def read_daemonset(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def read_deployment(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def read_service(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def read_secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...

    def list_nodes(self) -> list[dict[str, Any]]: ...

    def exec_in_pod(
        self, namespace: str, pod: str, container: str, command: Sequence[str], timeout: float
    ) -> ExecResult: ...


class KubernetesClusterClient:
    """``ClusterClient`` on the official ``kubernetes`` client (``AppsV1Api``, ``CoreV1Api``, ``stream``).

    ``request_timeout`` is (connect, read) seconds for ordinary API calls; default (5, 30) so a private or
    unreachable endpoint fails a check quickly instead of hanging the run.
    """

    def __init__(self, api_client: Any, request_timeout: tuple[float, float] = (5, 30)) -> None:
        from kubernetes import client

        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._timeout = request_timeout

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Mapping[str, Any]) -> KubernetesClusterClient:
        """Build from a kubeconfig dict; its exec plugin (``aws eks get-token``) runs here.

        The client logs a failing credential plugin instead of raising (and would then call the API
        anonymously), so errors it logs while loading are turned into a ``ClusterAccessError``.
        """
        from kubernetes import client, config

        configuration = client.Configuration()
        configuration.retries = (
            0  # no urllib3 retries: the verify loop retries, and a dead endpoint fails fast
        )
        logged = _ErrorCollector()
        root = logging.getLogger()
        root.addHandler(logged)
        try:
            api_client = config.new_client_from_config_dict(
                dict(kubeconfig), persist_config=False, client_configuration=configuration
            )
        except _transport_errors() as err:
            raise ClusterAccessError(f"cannot load kubeconfig: {_short(err)}") from err
        finally:
            root.removeHandler(logged)
        if logged.messages:
            raise ClusterAccessError(f"kubeconfig credentials failed: {logged.messages[-1]}")
        return cls(api_client)

    def _read(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a generated API method and return the response body as parsed JSON (None on 404)."""
        from kubernetes.client.exceptions import ApiException

        try:
            response = call(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
            return json.loads(response.data)
        except ApiException as err:
            if err.status == 404:
                return None
            raise ClusterAccessError(f"API error {err.status} {err.reason}") from err
        except _transport_errors() as err:
            raise ClusterAccessError(_short(err)) from err

    def read_daemonset(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read(self._apps.read_namespaced_daemon_set, name, namespace)

    def read_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read(self._apps.read_namespaced_deployment, name, namespace)

    def read_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read(self._core.read_namespaced_service, name, namespace)

    def read_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._read(self._core.read_namespaced_secret, name, namespace)

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        body = self._read(self._core.list_namespaced_pod, namespace, label_selector=label_selector)
        return list((body or {}).get("items") or [])

    def list_nodes(self) -> list[dict[str, Any]]:
        body = self._read(self._core.list_node)
        return list((body or {}).get("items") or [])

    def exec_in_pod(
        self, namespace: str, pod: str, container: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        """Run ``command`` in the container (no TTY) and collect stdout/stderr until exit or ``timeout``."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        try:
            ws = stream(
                self._core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=list(command),
                container=container,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
                _request_timeout=self._timeout,
            )
            out: list[str] = []
            err: list[str] = []
            deadline = time.monotonic() + timeout
            while ws.is_open() and time.monotonic() < deadline:
                ws.update(timeout=1)
                if ws.peek_stdout():
                    out.append(ws.read_stdout())
                if ws.peek_stderr():
                    err.append(ws.read_stderr())
            if ws.is_open():
                ws.close()
                raise ClusterAccessError(f"exec {' '.join(command)} in {pod} timed out after {timeout:g}s")
            return ExecResult("".join(out), "".join(err), _returncode(ws))
        except ApiException as e:
            raise ClusterAccessError(f"exec in {pod}: API error {e.status} {e.reason}") from e
        except _transport_errors() as e:
            raise ClusterAccessError(f"exec in {pod}: {_short(e)}") from e


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Failures that mean "could not talk to the cluster", not a bug: network, TLS, auth plugin, bad reply."""
    import urllib3
    import websocket
    from kubernetes.config.config_exception import ConfigException

    return (
        OSError,
        json.JSONDecodeError,
        urllib3.exceptions.HTTPError,
        websocket.WebSocketException,
        ConfigException,
    )


class _ErrorCollector(logging.Handler):
    """Collects ERROR records (also keeps ``logging.error`` from configuring stderr logging)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())


def _returncode(ws: Any) -> int | None:
    """Exit status from the exec error channel; None when the server sent none we can parse."""
    try:
        return ws.returncode
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def _short(err: BaseException) -> str:
    """One line naming the failure; for urllib3's MaxRetryError the underlying reason is the useful part."""
    import urllib3

    if isinstance(err, urllib3.exceptions.MaxRetryError) and err.reason is not None:
        err = err.reason
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]
