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

import builtins
import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
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
FORMAT = b"pep563-v1"
_FLAGS = __future__.annotations.compiler_flag


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/cilium-mesh/sdk-code/<Python's cache tag>`` (see :mod:`mesh.logic.cache_dirs`)."""
    return cache_root(env) / "sdk-code" / (sys.implementation.cache_tag or "python")


def _header(source: str) -> bytes:
    stat = os.stat(source)
    return b"%s|%s|%s|%d|%d\n" % (
        importlib.util.MAGIC_NUMBER.hex().encode(),
        FORMAT,
        source.encode(),
        stat.st_mtime_ns,
        stat.st_size,
    )


def compile_postponed(source_bytes: bytes, path: str) -> CodeType:
    """``source_bytes`` compiled as if it began with ``from __future__ import annotations``."""
    return compile(source_bytes, path, "exec", flags=_FLAGS, dont_inherit=True)


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
        # Concurrent plans (pytest-xdist) may write the same file: each writes its own temp file first.
        tmp = f"{cached}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.cache, exist_ok=True)
            with open(tmp, "wb") as stream:
                stream.write(header + marshal.dumps(code))
            os.replace(tmp, cached)
        except OSError:  # an unwritable cache: the next run compiles again
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
    sys.meta_path.insert(0, PostponedAnnotationsFinder(cache_dir(env)))
    return True
