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
from typing import Any

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
    # The plan compiles every SDK module it uses into the empty cache, then a second plan reads them back.
    # (benchmarks/sdk_imports_check.py compares every SDK package; tests/test_sdk_namespaces.py two of them.)
    stock = _plan("devstg", tmp_path / "stock.json", cache, stock=True)
    assert b'"aws:ec2/vpc:Vpc"' in stock[0] and stock[0].count(b'"urn"') > 90
    assert _plan("devstg", tmp_path / "cold.json", cache, stock=False) == stock
    assert _plan("devstg", tmp_path / "warm.json", cache, stock=False) == stock
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


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``lazypkg``: re-exports ``a`` and ``b`` by star imports (``b`` re-exports ``Y`` too: the last wins)."""
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import typing\nfrom .a import *\nfrom .b import *\nfrom .get_x import *\n"
        "from . import c\nPLAIN = 1\n"
    )
    (package / "get_x.py").write_text("__all__ = ['get_x']\ndef get_x():\n    return 'x'\n")
    (package / "a.py").write_text("__all__ = ['X', 'Y']\nX = 'a.X'\nY = 'a.Y'\nHIDDEN = 1\n")
    (package / "b.py").write_text("__all__ = [\n    'Y',\n    'Z',\n]\nY = 'b.Y'\nZ = 'b.Z'\n")
    (package / "c.py").write_text("C = 'c.C'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def _lazy_finder(tmp_path: Path) -> sdk_imports.PostponedAnnotationsFinder:
    return sdk_imports.PostponedAnnotationsFinder(tmp_path / "code", packages=frozenset({"lazypkg"}))


def _import_fresh(finder: sdk_imports.PostponedAnnotationsFinder) -> Any:
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]
    return _import_with(finder, "lazypkg")


def test_star_reexports_load_on_first_access_with_the_same_values(fake_package: Path, tmp_path: Path) -> None:
    package = _import_fresh(_lazy_finder(tmp_path))
    assert "lazypkg.a" not in sys.modules and "lazypkg.b" not in sys.modules
    assert "lazypkg.c" in sys.modules and package.PLAIN == 1  # everything else runs as written
    assert package.X == "a.X"
    assert "lazypkg.a" in sys.modules and "lazypkg.b" not in sys.modules
    assert package.Y == "b.Y"  # the later star import wins, as before
    from lazypkg import Z  # type: ignore[import-not-found]

    assert Z == "b.Z"
    assert {"X", "Y", "Z", "PLAIN", "c", "a", "b"} <= set(dir(package))
    assert package.b is sys.modules["lazypkg.b"]  # a star-imported module is an attribute, as before
    with pytest.raises(AttributeError, match="has no attribute 'HIDDEN'"):
        package.HIDDEN  # noqa: B018 (not in a.__all__: a star import never exported it)


def test_a_function_named_like_its_module_is_what_the_package_exports(
    fake_package: Path, tmp_path: Path
) -> None:
    package = _import_fresh(_lazy_finder(tmp_path))
    importlib.import_module("lazypkg.get_x")  # the import system binds the submodule on the package...
    assert callable(package.get_x) and package.get_x() == "x"  # ...the star import's function wins
    assert sys.modules["lazypkg.get_x"].get_x is package.get_x


def test_packages_of_another_shape_keep_their_star_imports(fake_package: Path, tmp_path: Path) -> None:
    (fake_package / "b.py").write_text("Y = 'b.Y'\nZ = 'b.Z'\n")  # no __all__: its names are unknown
    package = _import_fresh(_lazy_finder(tmp_path))
    assert "lazypkg.a" in sys.modules and "lazypkg.b" in sys.modules
    assert (package.X, package.Y, package.Z) == ("a.X", "b.Y", "b.Z")
    assert "_MESH_LAZY_EXPORTS" not in vars(package)

    (fake_package / "b.py").write_text("__all__ = ['Y', 'Z']\nY = 'b.Y'\nZ = 'b.Z'\n")
    init = fake_package / "__init__.py"
    init.write_text(init.read_text() + "Y = 'own'\n")  # binds a re-exported name itself
    package = _import_fresh(_lazy_finder(tmp_path))
    assert "_MESH_LAZY_EXPORTS" not in vars(package) and package.Y == "own"


def test_a_changed_module_recompiles_its_package(fake_package: Path, tmp_path: Path) -> None:
    finder = _lazy_finder(tmp_path)
    assert _import_fresh(finder).Z == "b.Z"
    b = fake_package / "b.py"
    b.write_text("__all__ = ['Y', 'Z', 'W']\nY = 'b.Y'\nZ = 'b.Z'\nW = 'b.W'\n")
    os.utime(b, ns=(b.stat().st_atime_ns, b.stat().st_mtime_ns + 1_000_000_000))
    assert _import_fresh(finder).W == "b.W"


def test_a_name_exported_by_one_module_and_naming_another_keeps_the_star_imports(
    fake_package: Path, tmp_path: Path
) -> None:
    # Stock: `from .a import *` binds b = 'a.b', then `from .b import *` loads module b, which the import
    # system binds as lazypkg.b: which one wins depends on load order, so the package stays as written.
    (fake_package / "a.py").write_text("__all__ = ['X', 'Y', 'b']\nX = 'a.X'\nY = 'a.Y'\nb = 'a.b'\n")
    package = _import_fresh(_lazy_finder(tmp_path))
    assert "_MESH_LAZY_EXPORTS" not in vars(package)
    assert package.b is sys.modules["lazypkg.b"]


def test_a_nested_binding_of_a_reexported_name_keeps_the_star_imports(
    fake_package: Path, tmp_path: Path
) -> None:
    init = fake_package / "__init__.py"
    init.write_text(
        "import typing\nif typing.TYPE_CHECKING or True:\n    def X():\n        pass\n" + init.read_text()
    )
    package = _import_fresh(_lazy_finder(tmp_path))
    assert "_MESH_LAZY_EXPORTS" not in vars(package)
    assert package.X == "a.X"  # the star import after the def wins, as written


def test_added_code_points_past_the_end_of_the_file(fake_package: Path, tmp_path: Path) -> None:
    package = _import_fresh(_lazy_finder(tmp_path))
    lines = len((fake_package / "__init__.py").read_text().splitlines())
    with pytest.raises(AttributeError) as err:
        package.NOT_THERE  # noqa: B018
    assert err.traceback[-1].lineno + 1 > lines


def test_the_cache_entry_depends_on_the_optimization_level(fake_sdks: Path) -> None:
    header = sdk_imports._header(str(fake_sdks / "fakesdk" / "__init__.py"))
    assert f"|optimize={sys.flags.optimize}|".encode() in header


def test_no_home_directory_means_stock_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home(env: Any = None) -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(
        sys,
        "meta_path",
        [f for f in sys.meta_path if not isinstance(f, sdk_imports.PostponedAnnotationsFinder)],
    )
    monkeypatch.setattr(sdk_imports, "cache_dir", no_home)
    assert sdk_imports.install({}) is False
    assert not any(isinstance(f, sdk_imports.PostponedAnnotationsFinder) for f in sys.meta_path)
