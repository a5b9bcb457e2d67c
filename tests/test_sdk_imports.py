"""The SDK modules compiled with postponed annotations (mesh/plan/sdk_imports.py) change what a plan costs,
never what it says; the compiled code is cached per source file and the cache is never trusted blindly."""

from __future__ import annotations

import importlib
import marshal
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh.plan import sdk_imports
from mesh.plan.sdk_pin import PINNED_SDK_VERSION

ROOT = Path(__file__).resolve().parents[1]


def _plan(stack: str, out: Path, cache: Path, *, stock: bool) -> tuple[bytes, str]:
    """``python -m mesh.plan STACK --json`` in a fresh process: the JSON bytes and the printed plan."""
    env = {k: v for k, v in os.environ.items() if k != sdk_imports.OPT_OUT_ENV}
    env["XDG_CACHE_HOME"] = str(cache)
    if stock:
        env[sdk_imports.OPT_OUT_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "mesh.plan", stack, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes(), done.stdout.replace(str(out), "PLAN.json")


def test_plans_are_byte_identical_with_stock_and_postponed_sdk_imports(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code_dir = sdk_imports.cache_dir({"XDG_CACHE_HOME": str(cache)})
    # devstg compiles every SDK module into the empty cache; prd (other versions, 3 clusters) mostly reads it.
    for stack in ("devstg", "prd"):
        postponed = _plan(stack, tmp_path / f"{stack}.json", cache, stock=False)
        stock = _plan(stack, tmp_path / f"{stack}-stock.json", cache, stock=True)
        assert b'"aws:ec2/vpc:Vpc"' in stock[0] and stock[0].count(b'"urn"') > 90
        assert postponed == stock
    # The plan process really loaded the SDK through the finder: its compiled modules are in the cache.
    cached = {p.name.split(".bin")[0].rsplit(".", 1)[0] for p in code_dir.glob("*.bin")}
    assert {"pulumi_aws.ec2.vpc", "pulumi_kubernetes.helm.v3.Release", "pulumi_eks.cluster"} <= cached
    assert not any(name.startswith(("pulumi.", "mesh.", "pydantic")) for name in cached)


@pytest.fixture
def fake_sdks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two packages whose annotations name things that do not exist: only a postponed import survives."""
    source = (
        "def make(x: NotDefined[int]) -> AlsoNotDefined:\n"
        "    return x\n"
        "class Props:\n"
        "    size: Missing\n"
        "VALUE = 'from source'\n"
    )
    for name in ("fakesdk", "othersdk"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("fakesdk", "othersdk"):
        sys.modules.pop(name, None)


def _import_with(finder: sdk_imports.PostponedAnnotationsFinder, name: str) -> object:
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)


def test_only_the_listed_packages_get_postponed_annotations(fake_sdks: Path, tmp_path: Path) -> None:
    finder = sdk_imports.PostponedAnnotationsFinder(tmp_path / "code", packages=frozenset({"fakesdk"}))
    module = _import_with(finder, "fakesdk")
    assert module.make.__annotations__ == {"x": "NotDefined[int]", "return": "AlsoNotDefined"}
    assert module.Props.__annotations__ == {"size": "Missing"}
    assert isinstance(module.__spec__.loader, sdk_imports.PostponedAnnotationsLoader)
    with pytest.raises(NameError, match="NotDefined"):
        _import_with(finder, "othersdk")


def test_the_cache_is_used_while_the_source_is_unchanged(fake_sdks: Path, tmp_path: Path) -> None:
    finder = sdk_imports.PostponedAnnotationsFinder(tmp_path / "code", packages=frozenset({"fakesdk"}))
    assert _import_with(finder, "fakesdk").VALUE == "from source"
    (cached,) = (tmp_path / "code").glob("fakesdk.*.bin")
    header = cached.read_bytes().split(b"\n", 1)[0] + b"\n"
    assert str(fake_sdks / "fakesdk" / "__init__.py").encode() in header

    # Same header, other code: what the loader runs comes from the cache.
    cached.write_bytes(header + marshal.dumps(compile("VALUE = 'from cache'", "x", "exec")))
    assert _import_with(finder, "fakesdk").VALUE == "from cache"

    # The source changed (size and mtime): the cache entry no longer matches and is replaced.
    source = fake_sdks / "fakesdk" / "__init__.py"
    source.write_text(source.read_text().replace("from source", "edited source"))
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000_000))
    assert _import_with(finder, "fakesdk").VALUE == "edited source"
    assert _import_with(finder, "fakesdk").VALUE == "edited source"
    assert [p.name for p in (tmp_path / "code").iterdir()] == [cached.name]


def test_a_damaged_cache_entry_is_recompiled(fake_sdks: Path, tmp_path: Path) -> None:
    finder = sdk_imports.PostponedAnnotationsFinder(tmp_path / "code", packages=frozenset({"fakesdk"}))
    _import_with(finder, "fakesdk")
    (cached,) = (tmp_path / "code").glob("fakesdk.*.bin")
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 2])  # the right header, truncated code
    assert _import_with(finder, "fakesdk").VALUE == "from source"


def test_an_unwritable_cache_only_costs_the_compile(fake_sdks: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    finder = sdk_imports.PostponedAnnotationsFinder(blocker / "code", packages=frozenset({"fakesdk"}))
    module = _import_with(finder, "fakesdk")
    assert module.make.__annotations__["return"] == "AlsoNotDefined"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fakesdk", "not-a-directory", "othersdk"]


def test_the_finder_applies_only_to_the_pinned_sdk_and_can_be_turned_off() -> None:
    assert sdk_imports.applies({}, PINNED_SDK_VERSION) is True
    assert sdk_imports.applies({}, "3.999.0") is False
    assert sdk_imports.applies({sdk_imports.OPT_OUT_ENV: "1"}, PINNED_SDK_VERSION) is False
    assert sdk_imports.applies({sdk_imports.OPT_OUT_ENV: ""}, PINNED_SDK_VERSION) is True


def test_install_is_idempotent() -> None:
    # Importing mesh.plan installed it (conftest imports mesh.plan.cli before any SDK module).
    assert sdk_imports.install() is True
    assert sdk_imports.install() is True
    finders = [f for f in sys.meta_path if isinstance(f, sdk_imports.PostponedAnnotationsFinder)]
    assert len(finders) == 1
    assert finders[0].packages == frozenset({"pulumi_aws", "pulumi_kubernetes", "pulumi_eks", "pulumi_tls"})


def test_the_cache_lives_under_xdg_cache_home() -> None:
    tag = sys.implementation.cache_tag
    assert sdk_imports.cache_dir({"XDG_CACHE_HOME": "/c"}) == Path(f"/c/cilium-mesh/sdk-code/{tag}")
    assert sdk_imports.cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path(
        f"/h/.cache/cilium-mesh/sdk-code/{tag}"
    )


def test_forward_refs_compile_each_distinct_annotation_once() -> None:
    assert "compile" not in typing.__dict__
    with sdk_imports.forward_refs_compiled_once():
        first = typing.ForwardRef("Optional[Sequence[str]]")
        again = typing.ForwardRef("Optional[Sequence[str]]")
        other = typing.ForwardRef("Mapping[str, int]")
        with sdk_imports.forward_refs_compiled_once():  # nested: the outer memo stays in place
            nested = typing.ForwardRef("Optional[Sequence[str]]")
        assert "compile" in typing.__dict__
        with pytest.raises(SyntaxError):
            typing.ForwardRef("Optional[")
    assert "compile" not in typing.__dict__
    stock = typing.ForwardRef("Optional[Sequence[str]]")
    assert first.__forward_code__ is again.__forward_code__ is nested.__forward_code__
    assert first.__forward_code__ is not other.__forward_code__
    assert stock.__forward_code__ is not first.__forward_code__
    assert stock == first  # same argument, same module: equal forward references
    namespace = {"Optional": typing.Optional, "Sequence": typing.Sequence}
    assert eval(first.__forward_code__, namespace) == eval(stock.__forward_code__, namespace)


def test_typeddicts_of_a_postponed_module_get_the_same_keys(fake_sdks: Path, tmp_path: Path) -> None:
    (fake_sdks / "fakesdk" / "__init__.py").write_text(
        "from typing import NotRequired, Optional, TypedDict\n"
        "class ArgsDict(TypedDict):\n"
        "    name: str\n"
        "    size: NotRequired[Optional[int]]\n"
        "    tags: NotRequired[Optional[int]]\n"
    )
    finder = sdk_imports.PostponedAnnotationsFinder(tmp_path / "code", packages=frozenset({"fakesdk"}))
    postponed = _import_with(finder, "fakesdk").ArgsDict
    sys.modules.pop("fakesdk", None)
    stock = importlib.import_module("fakesdk").ArgsDict
    size, tags = postponed.__annotations__["size"], postponed.__annotations__["tags"]
    assert size.__forward_code__ is tags.__forward_code__  # one compile for the repeated annotation
    assert typing.get_type_hints(postponed, include_extras=True) == typing.get_type_hints(
        stock, include_extras=True
    )
    assert "compile" not in typing.__dict__
