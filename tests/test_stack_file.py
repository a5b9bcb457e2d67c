"""Stack files as Pulumi reads them: every problem names the file and the key, never a traceback."""

from __future__ import annotations

import pytest

from mesh.logic.stack_file import (
    STACK_FILE_KEYS,
    config_key_problems,
    installed_provider_keys,
    load_yaml,
    parse_stack_document,
)

FILE = "Pulumi.devstg.yaml"
PROJECT_KEYS = ("account", "clusters", "cilium", "demo")


def parse(text: str, **kwargs: object) -> tuple[list[str], object]:
    doc, problem = load_yaml(FILE, text)
    assert problem is None, problem
    parsed = parse_stack_document(FILE, doc, project="cilium-mesh", project_keys=PROJECT_KEYS, **kwargs)
    return list(parsed.problems), parsed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  cilium-mesh:demo: true\n   bad: 1\n", f"{FILE}: not valid YAML at line 3, column 7"),
        ("config:\n  aws:region: [us-east-1\n", f"{FILE}: not valid YAML at line 3, column 1"),
        (
            "config:\n  cilium-mesh:demo: true\n  cilium-mesh:demo: false\n",
            f"{FILE}: not valid YAML at line 3, column 3: key 'cilium-mesh:demo' appears twice",
        ),
    ],
)
def test_invalid_yaml_names_file_line_and_column(text: str, expected: str) -> None:
    doc, problem = load_yaml(FILE, text)
    assert doc is None and problem is not None and problem.startswith(expected)


def test_misspelled_namespace_is_named_with_the_key_it_meant() -> None:
    problems, _ = parse("config:\n  cilium_mesh:demo: true\n  cilium-mesh:account: a\n")
    assert problems == [
        f"{FILE}: config.cilium_mesh:demo: unknown namespace 'cilium_mesh', did you mean cilium-mesh:demo? "
        "(the program never reads this key)"
    ]


def test_foreign_namespace_and_missing_namespace() -> None:
    problems, _ = parse("config:\n  gcp:project: p\n  demo: true\n")
    assert problems[0].startswith(f"{FILE}: config.gcp:project: namespace 'gcp' is neither this project's")
    assert problems[1].startswith(f"{FILE}: config.demo: a config key must be <namespace>:<name>")
    assert "cilium-mesh:demo" in problems[1]


def test_unknown_top_level_key_lists_pulumis_keys() -> None:
    problems, _ = parse("configs:\n  cilium-mesh:demo: true\nsecretsprovider: awskms://alias/x\n")
    assert problems == [
        f"{FILE}: configs: unknown top-level key (did you mean config?); a stack file has "
        "secretsprovider, encryptedkey, encryptionsalt, config, environment"
    ]
    assert STACK_FILE_KEYS == ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")


def test_provider_keys_are_checked_when_known() -> None:
    problems, _ = parse(
        "config:\n  aws:regoin: us-east-1\n  kubernetes:anything: x\n",
        provider_keys={"aws": ("region", "profile"), "kubernetes": None},
    )
    assert problems == [
        f"{FILE}: config.aws:regoin: aws has no config key 'regoin', did you mean aws:region?"
    ]


def test_secure_values_and_esc_environments() -> None:
    problems, parsed = parse(
        "config:\n  cilium-mesh:account: a\n  aws:profile:\n    secure: AAAB\n"
        "environment:\n  - apps/devstg\n  - shared/aws\n"
    )
    assert problems == []
    assert parsed.secret_keys == ("aws:profile",)  # type: ignore[attr-defined]
    warning = parsed.environment_warning(FILE)  # type: ignore[attr-defined]
    assert warning is not None
    assert warning.startswith(
        f"{FILE}: environment imports Pulumi ESC environment(s) apps/devstg, shared/aws"
    )
    assert "cannot resolve them" in warning


def test_a_stack_file_that_is_not_a_mapping() -> None:
    problems, _ = parse("- a\n- b\n")
    assert problems == [f"{FILE}: must be a mapping with a `config:` key"]


def test_foreign_namespaces_can_be_tolerated_where_esc_merges_config() -> None:
    keys = ["gcp:project", "cilium_mesh:demo"]
    strict = config_key_problems(keys, project="cilium-mesh", project_keys=("demo",))
    tolerant = config_key_problems(keys, project="cilium-mesh", project_keys=("demo",), report_foreign=False)
    assert [p.split(":")[0] + ":" + p.split(":")[1].split(" ")[0] for p in strict] == [
        "config.gcp:project",
        "config.cilium_mesh:demo",
    ]
    assert tolerant == strict[1:]


def test_config_keys_under_pulumi_are_checked_without_a_file() -> None:
    keys = ["cilium-mesh:demo", "cilium_mesh:protect", "pulumi:tags", "tls:x"]
    problems = config_key_problems(keys, project="cilium-mesh", project_keys=("demo", "protect"))
    assert problems == [
        "config.cilium_mesh:protect: unknown namespace 'cilium_mesh', did you mean cilium-mesh:protect? "
        "(the program never reads this key)"
    ]


def test_provider_keys_come_from_the_installed_sdks() -> None:
    keys = installed_provider_keys()
    aws = keys["aws"]
    assert aws is not None
    # pulumi-aws 7.x: assumeRoles (a list) replaced assumeRole; the stack files use region and profile.
    assert {"region", "profile", "assumeRoles", "allowedAccountIds", "defaultTags"} <= aws
    assert "assumeRole" not in aws
    assert keys["kubernetes"] is None  # pulumi-kubernetes has no generated config module: not checked
