"""Imports of the generated Pulumi SDKs for the offline plan, compiled with postponed annotations (PEP 563).

Why: the generated provider SDKs (``pulumi_aws``, ``pulumi_kubernetes``, ``pulumi_eks``, ``pulumi_tls``)
annotate every argument and property, and evaluating those annotations when a module executes
(``pulumi.Input[Optional[Sequence[...]]]``: thousands of ``typing`` subscripts per module) is most of what
importing them costs. The SDK never needs them at import time: ``pulumi/_types.py`` resolves them lazily
with ``typing.get_type_hints`` (``_raw_return_hints``, written for forward references), so the same source
compiled with ``from __future__ import annotations`` behaves the same and imports about twice as fast.
One difference nothing at run time sees: a ``TypedDict`` (the SDKs' ``*ArgsDict`` input shapes, for type
checkers) cannot tell ``NotRequired`` keys from a string, so its ``__required_keys__`` lists every key; the
SDK only asks ``typing.is_typeddict``.

A generated package's ``__init__`` re-exports every module of the package (``from .vpc import *``, 180 of
them in ``pulumi_aws.ec2``) although a program uses a handful. :func:`lazy_reexports` compiles it so each
name is imported on first access instead (PEP 562 ``__getattr__``), with the same value: the names come
from each module's literal ``__all__`` (read when the package is compiled, the last module exporting a
name wins, as with the star imports), and a package that does not fit that shape is compiled unchanged.
``from package import *`` of such a package would see only names already accessed; nothing in the program
or the SDKs does that.

Only the offline plan gets this: :func:`install` runs when :mod:`mesh.plan` is imported, and ``pulumi up``
runs ``__main__.py``, which never imports :mod:`mesh.plan`. ``tests/test_sdk_imports.py`` proves plans are
byte-identical with and without it. It applies only on :data:`mesh.plan.sdk_pin.PINNED_SDK_VERSION`
(an SDK upgrade turns it off until someone re-reads ``pulumi/_types.py``) and not when
``CILIUM_MESH_STOCK_SDK_IMPORTS`` is set (to anything but empty).

The compiled code is cached per source file (path, modification time, size, Python's magic number) under
``$XDG_CACHE_HOME/cilium-mesh/sdk-code`` (default ``~/.cache``), written atomically; the first plan on a
machine compiles the modules it uses (a few seconds). An unwritable cache only costs the compile each run.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import re
import sys
import tempfile
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from mesh.logic.cache_dirs import cache_root
from mesh.plan.sdk_pin import PINNED_SDK_VERSION, installed_sdk_version

# The generated SDKs the program imports; the core SDK (``pulumi``) is left alone.
PACKAGES = frozenset({"pulumi_aws", "pulumi_kubernetes", "pulumi_eks", "pulumi_tls"})
OPT_OUT_ENV = "CILIUM_MESH_STOCK_SDK_IMPORTS"
# Part of every cache file's header: a change to how modules are compiled invalidates the cache.
FORMAT = b"pep563-lazy-reexports-v5"
_FLAGS = __future__.annotations.compiler_flag


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cilium-mesh/sdk-code/<Python's cache tag>`` (see :mod:`mesh.logic.cache_dirs`)."""
    return cache_root(env) / "sdk-code" / (sys.implementation.cache_tag or "python")


def _header(source: str) -> bytes:
    """What a cache entry was compiled from: Python's bytecode magic, :data:`FORMAT`, the source's path,
    modification time and size, and for a package ``__init__`` those of its modules (whose ``__all__``
    :func:`lazy_reexports` read)."""
    stat = os.stat(source)
    parts = [
        importlib.util.MAGIC_NUMBER.hex(),
        FORMAT.decode(),
        f"optimize={sys.flags.optimize}",
        source,
        str(stat.st_mtime_ns),
        str(stat.st_size),
    ]
    if os.path.basename(source) == "__init__.py":
        modules = hashlib.sha256()
        with os.scandir(os.path.dirname(source)) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(".py"):
                    info = entry.stat()
                    modules.update(f"{entry.name}|{info.st_mtime_ns}|{info.st_size}\n".encode())
        parts.append(modules.hexdigest())
    return ("|".join(parts) + "\n").encode()


def compile_postponed(source_bytes: bytes, path: str) -> CodeType:
    """``source_bytes`` compiled as if it began with ``from __future__ import annotations``; a package
    ``__init__`` with :func:`lazy_reexports` when it has that shape."""
    tree = ast.parse(source_bytes, path)
    if os.path.basename(path) == "__init__.py":
        tree = lazy_reexports(tree, os.path.dirname(path)) or tree
    return compile(tree, path, "exec", flags=_FLAGS, dont_inherit=True)


_ALL_RE = re.compile(rb"^__all__ = (\[.*?\])$", re.MULTILINE | re.DOTALL)

# Appended to a package __init__ whose star re-exports were removed; _MESH_LAZY_EXPORTS maps each name to
# the module whose star import bound it last. A submodule that the import system binds under an exported
# name (``get_vpc`` the function lives in ``get_vpc.py`` the module) gets the exported value instead, as
# the star import that followed the submodule's import did.
_LAZY_TEMPLATE = """
import importlib as _mesh_importlib
import sys as _mesh_sys
import types as _mesh_types


def _mesh_reexported(name):
    return getattr(_mesh_importlib.import_module("." + _MESH_LAZY_EXPORTS[name], __name__), name)


def __getattr__(name):
    if name in _MESH_LAZY_EXPORTS:
        value = globals()[name] = _mesh_reexported(name)
        return value
    if name in _MESH_LAZY_MODULES:  # a star-imported module, bound on its package once imported
        return _mesh_importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MESH_LAZY_EXPORTS) | _MESH_LAZY_MODULES)


class _MeshLazyReexports(_mesh_types.ModuleType):
    def __setattr__(self, name, value):
        if name in _MESH_LAZY_EXPORTS and isinstance(value, _mesh_types.ModuleType):
            value = _mesh_reexported(name)
        super().__setattr__(name, value)


_mesh_sys.modules[__name__].__class__ = _MeshLazyReexports
"""


def module_exports(path: str) -> list[str] | None:
    """The literal ``__all__`` of the module at ``path``, or None (no such file, or no literal list)."""
    try:
        with open(path, "rb") as stream:
            match = _ALL_RE.search(stream.read())
        names = ast.literal_eval(match.group(1).decode()) if match else None
    except (OSError, ValueError, SyntaxError, UnicodeDecodeError):
        return None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None


def _bound_names(statement: ast.stmt) -> set[str]:
    """Every name ``statement`` may bind in the module namespace, nested blocks (``if``, ``try``) included."""
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def lazy_reexports(tree: ast.Module, package_dir: str) -> ast.Module | None:
    """``tree`` (a package ``__init__``) with its top-level ``from .module import *`` statements replaced by
    an on-demand ``__getattr__``, or None (compile it unchanged) when it has none, a module's ``__all__`` is
    not a literal list, another statement binds a re-exported name, or a re-exported name is also the name of
    another re-exporting module (then which one the package ends up with depends on import order)."""
    stars = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and node.level == 1
        and node.module
        and "." not in node.module
        and [alias.name for alias in node.names] == ["*"]
    ]
    if not stars:
        return None
    exports: dict[str, str] = {}
    for node in stars:
        assert node.module is not None
        names = module_exports(os.path.join(package_dir, f"{node.module}.py"))
        if names is None:
            return None
        exports.update(dict.fromkeys(names, node.module))
    modules = sorted({node.module for node in stars if node.module})
    # ``get_vpc`` exported by ``get_vpc.py`` is fine (its star import binds the function right after the
    # import system bound the module); exported by any other module, the winner depends on load order.
    if any(exports[name] != name for name in exports.keys() & set(modules)):
        return None
    rest = [node for node in tree.body if node not in stars]
    template = ast.parse(_LAZY_TEMPLATE).body
    if any(_bound_names(node) & exports.keys() for node in [*rest, *template]):
        return None
    table = ast.parse(f"_MESH_LAZY_EXPORTS = {exports!r}\n_MESH_LAZY_MODULES = frozenset({modules!r})").body
    # Added lines are numbered past the end of the file: a traceback through them points at no real line.
    last = max((getattr(node, "end_lineno", 0) or 0 for node in tree.body), default=0)
    for node in [*table, *template]:
        ast.increment_lineno(node, last + 1)
    tree.body = [*rest, *table, *template]
    return ast.fix_missing_locations(tree)


class PostponedAnnotationsLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose modules are compiled with postponed annotations, cached in :func:`cache_dir`."""

    def __init__(self, fullname: str, path: str, cache: Path) -> None:
        super().__init__(fullname, path)
        self.cache = cache

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_filename(fullname)
        header = _header(source)
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        cached = os.path.join(self.cache, f"{fullname}.{digest}.bin")
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            with open(cached, "rb") as stream:
                data = stream.read()
            if data.startswith(header):
                return marshal.loads(memoryview(data)[len(header) :])
        code = compile_postponed(self.get_data(source), source)
        # Concurrent plans (pytest-xdist, containers sharing a cache) may write the same file: each writes
        # its own temp file first.
        tmp = None
        try:
            os.makedirs(self.cache, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache, prefix=f".{fullname}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as stream:
                stream.write(header + marshal.dumps(code))
            os.replace(tmp, cached)
        except OSError:  # an unwritable cache: the next run compiles again
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return code

    def exec_module(self, module: ModuleType) -> None:
        with forward_refs_compiled_once():
            super().exec_module(module)


_FORWARD_REF_CODE: dict[tuple[Any, ...], CodeType] = {}


@contextmanager
def forward_refs_compiled_once() -> Iterator[None]:
    """Within the block, ``typing.ForwardRef`` compiles each distinct annotation string once.

    A postponed annotation in a ``TypedDict`` body (the SDKs' ``*ArgsDict`` classes), or read later through
    ``typing.get_type_hints``, becomes a ``ForwardRef``, whose constructor compiles the string (``typing.py``,
    ``ForwardRef.__init__``); the same few strings (``NotRequired[pulumi.Input[Optional[_builtins.str]]]``)
    recur thousands of times. The loader applies it while an SDK module executes, the harness while a
    program runs (:mod:`mesh.plan.sdk_speedups`). The
    memo is keyed by every argument and code objects are immutable, so what is built is unchanged. It
    shadows ``compile`` in :mod:`typing`'s globals (its only caller there) and removes it afterwards;
    nested module loads reuse the outer one.
    """
    if "compile" in typing.__dict__:
        yield
        return

    def compile_once(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> CodeType:
        key = (source, filename, mode, args, tuple(sorted(kwargs.items())))
        code = _FORWARD_REF_CODE.get(key)
        if code is None:
            code = _FORWARD_REF_CODE[key] = builtins.compile(source, filename, mode, *args, **kwargs)
        return code

    typing.compile = compile_once  # type: ignore[attr-defined]
    try:
        yield
    finally:
        typing.__dict__.pop("compile", None)


class PostponedAnnotationsFinder(importlib.abc.MetaPathFinder):
    """Finds modules of ``packages`` (default :data:`PACKAGES`) like the path finder does, and loads their
    sources with :class:`PostponedAnnotationsLoader` (compiled extensions and everything else: unchanged)."""

    def __init__(self, cache: Path, packages: frozenset[str] = PACKAGES) -> None:
        self.cache = cache
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec
        spec.loader = PostponedAnnotationsLoader(fullname, spec.loader.path, self.cache)
        return spec


def applies(env: Mapping[str, str] | None = None, version: str | None = None) -> bool:
    """Whether :func:`install` installs the finder: the pinned SDK, and no opt-out in ``env``."""
    env = os.environ if env is None else env
    installed = version or installed_sdk_version()
    return not env.get(OPT_OUT_ENV) and installed == PINNED_SDK_VERSION


def install(env: Mapping[str, str] | None = None) -> bool:
    """Put :class:`PostponedAnnotationsFinder` first on ``sys.meta_path`` (once) when :func:`applies`.

    Modules imported before it keep their stock code; the ones imported after get the postponed one.
    Returns whether the finder is installed.
    """
    if any(isinstance(finder, PostponedAnnotationsFinder) for finder in sys.meta_path):
        return True
    if not applies(env):
        return False
    try:
        cache = cache_dir(env)
    except (RuntimeError, KeyError, OSError):  # no $HOME and no passwd entry (arbitrary container UIDs)
        return False
    sys.meta_path.insert(0, PostponedAnnotationsFinder(cache))
    return True
