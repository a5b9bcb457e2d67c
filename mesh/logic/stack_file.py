"""The stack file ``Pulumi.<stack>.yaml`` as Pulumi reads it: top-level keys, config keys, ESC imports.

YAML in, problems out, no Pulumi (only :func:`installed_provider_keys` reads files: the installed provider
SDKs' config modules). Each problem names the file and the key, so a typo never vanishes and never ends in
a traceback:

* top-level keys are those of Pulumi's ``ProjectStack`` (pulumi/pulumi sdk/go/common/workspace/project.go):
  ``secretsprovider``, ``encryptedkey``, ``encryptionsalt``, ``config``, ``environment``;
* a config key is ``<namespace>:<name>`` (Pulumi's ``config.ParseKey`` refuses anything else) in a namespace
  the program reads: the project's own or a provider it uses; ``cilium_mesh:demo`` is a misspelling that
  Pulumi would silently keep and the program would never read;
* a key may appear once (go-yaml v3, which the Pulumi CLI uses, rejects duplicate mapping keys, while
  PyYAML would silently keep the last one);
* ``environment:`` imports Pulumi ESC environments, which only the Pulumi CLI can resolve: the offline plan
  warns that values coming from them are missing.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")
"""Top-level keys of a stack file (Pulumi ``ProjectStack``)."""

PROVIDER_NAMESPACES = ("aws", "eks", "kubernetes", "tls", "pulumi")
"""Config namespaces besides the project's: the providers whose resources the program creates (each default
provider reads ``<package>:*``) and ``pulumi:`` (reserved: ``pulumi:tags``, ``pulumi:template``...)."""


PROVIDER_PACKAGES = {
    "aws": "pulumi_aws",
    "eks": "pulumi_eks",
    "kubernetes": "pulumi_kubernetes",
    "tls": "pulumi_tls",
}
"""Config namespace -> the provider SDK package whose ``config/vars.py`` lists its keys."""

_CONFIG_GET_RE = re.compile(r"__config__\.get\w*\('(\w+)'\)")


def installed_provider_keys() -> dict[str, frozenset[str] | None]:
    """Per provider namespace, the config keys the installed SDK reads (its generated ``config/vars.py``,
    e.g. ``aws:region``); ``None`` where the SDK has no such file (its keys are then not checked).

    Reads the files as text, without importing the SDKs."""
    keys: dict[str, frozenset[str] | None] = {}
    for namespace, package in PROVIDER_PACKAGES.items():
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        found: set[str] = set()
        for location in locations:
            vars_file = f"{location}/config/vars.py"
            try:
                with open(vars_file, encoding="utf-8") as handle:
                    found.update(_CONFIG_GET_RE.findall(handle.read()))
            except OSError:
                continue
        keys[namespace] = frozenset(found) if found else None
    return keys


@dataclass(frozen=True)
class StackFile:
    """A parsed stack file: config values (full keys, decoded YAML), secure keys, ESC imports."""

    config: dict[str, Any] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def environment_warning(self, file_name: str) -> str | None:
        """The offline plan's warning for ESC imports; ``None`` without any."""
        if not self.environments:
            return None
        return (
            f"{file_name}: environment imports Pulumi ESC environment(s) {', '.join(self.environments)}; "
            "the offline plan cannot resolve them, so config values they provide are missing here "
            "(`pulumi preview` resolves them)"
        )


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys, as go-yaml v3 does."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if not isinstance(key, (str, int, float, bool)):
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(file_name: str, text: str) -> tuple[Any, str | None]:
    """``(document, None)``, or ``(None, problem)`` naming the file, line and column of a YAML error."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        return None, f"{file_name}: not valid YAML{where}: {problem}"


def config_key_problems(
    keys: Collection[str],
    *,
    project: str,
    project_keys: Collection[str],
    provider_keys: Mapping[str, Collection[str] | None] | None = None,
    where: str = "config",
    report_foreign: bool = True,
) -> list[str]:
    """Problems with config key names: form ``ns:name``, a known namespace, a known key of the project.

    ``project_keys`` are the project's own keys (without namespace). ``provider_keys`` maps a provider
    namespace to its known keys (``None`` = not checked); namespaces not in it come from
    :data:`PROVIDER_NAMESPACES`. Keys of the project's namespace are checked by the config model itself.
    ``report_foreign`` (default ``True``): also report namespaces that are not a misspelling of a known one.
    """
    namespaces = {project, *PROVIDER_NAMESPACES, *(provider_keys or {})}
    problems: list[str] = []
    for key in keys:
        namespace, sep, name = str(key).partition(":")
        if not sep or not namespace or not name:
            problems.append(
                f"{where}.{key}: a config key must be <namespace>:<name>, e.g. {project}:{key} "
                "(Pulumi refuses keys without a namespace)"
            )
            continue
        if namespace not in namespaces:
            hint = difflib.get_close_matches(namespace, sorted(namespaces), n=1, cutoff=0.6)
            if hint or name in project_keys:
                suggestion = f"{hint[0] if hint else project}:{name}"
                problems.append(
                    f"{where}.{key}: unknown namespace {namespace!r}, did you mean {suggestion}? "
                    "(the program never reads this key)"
                )
            elif report_foreign:
                problems.append(
                    f"{where}.{key}: namespace {namespace!r} is neither this project's ({project}) nor "
                    f"a provider's it uses ({', '.join(PROVIDER_NAMESPACES)}); the program never reads it"
                )
            continue
        known = (provider_keys or {}).get(namespace)
        if known is not None and name not in known:
            hint = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            also = f", did you mean {namespace}:{hint[0]}?" if hint else ""
            problems.append(f"{where}.{key}: {namespace} has no config key {name!r}{also}")
    return problems


def parse_stack_document(
    file_name: str,
    doc: Any,
    *,
    project: str,
    project_keys: Collection[str],
    provider_keys: Mapping[str, Collection[str] | None] | None = None,
) -> StackFile:
    """Check a loaded stack file and pull out its config. Problems are prefixed with ``file_name``."""
    if doc is None:
        return StackFile()
    if not isinstance(doc, Mapping):
        return StackFile(problems=(f"{file_name}: must be a mapping with a `config:` key",))
    problems: list[str] = []
    for key in doc:
        if key not in STACK_FILE_KEYS:
            hint = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1, cutoff=0.6)
            also = f" (did you mean {hint[0]}?)" if hint else ""
            problems.append(
                f"{file_name}: {key}: unknown top-level key{also}; a stack file has "
                f"{', '.join(STACK_FILE_KEYS)}"
            )
    raw_config = doc.get("config")
    if raw_config is None:
        raw_config = {}
    if not isinstance(raw_config, Mapping):
        problems.append(f"{file_name}: config: must be a mapping of <namespace>:<name> keys")
        raw_config = {}
    problems += [
        f"{file_name}: {p}"
        for p in config_key_problems(
            [str(k) for k in raw_config],
            project=project,
            project_keys=project_keys,
            provider_keys=provider_keys,
        )
    ]
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw_config.items():
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            secret_keys.append(str(key))
        config[str(key)] = value
    return StackFile(
        config=config,
        secret_keys=tuple(secret_keys),
        environments=_environments(doc.get("environment")),
        problems=tuple(problems),
    )


def _environments(value: Any) -> tuple[str, ...]:
    """ESC environment names from ``environment:`` (a list of names, or ``imports:`` of a definition)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = value.get("imports") or ["(inline definition)"]
    if isinstance(value, str):
        value = [value]
    names = []
    for item in value if isinstance(value, list) else [value]:
        names.append(str(next(iter(item)) if isinstance(item, Mapping) and item else item))
    return tuple(names)
