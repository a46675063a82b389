"""The generated CLI facts (parse/data) and the reviewed overlay (parse/overlay) stay true to the CLIs.

The facts must be what scripts/gen_cli_data.py writes today from the pinned binaries (fetched by
`scripts/cluster.sh tools`, which test.sh always runs through `cluster.sh install`) and the upstream
references; the overlay must cover exactly the facts; the pins in the Dockerfile and scripts must be
the versions in the data headers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from k8s_mcp_server.parse import clispec
from tests.support.clibin import pinned_bin

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("kubectl", "helm", "istioctl", "argocd")


def _generator() -> ModuleType:
    path = REPO / "scripts" / "gen_cli_data.py"
    spec = importlib.util.spec_from_file_location("gen_cli_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_cli_data"] = module
    spec.loader.exec_module(module)
    return module


def _problems(tool: str, word: str) -> list[str]:
    return [p for p in clispec.problems(tool) if word in p]


@pytest.mark.parametrize("tool", TOOLS)
def test_every_generated_command_has_a_class(tool: str) -> None:
    assert _problems(tool, "has no class") == []
    assert _problems(tool, "unknown class") == []


@pytest.mark.parametrize("tool", TOOLS)
def test_every_generated_flag_has_a_verdict(tool: str) -> None:
    assert _problems(tool, "has no verdict") == []
    assert _problems(tool, "unknown verdict") == []


@pytest.mark.parametrize("tool", TOOLS)
def test_the_overlay_names_only_commands_flags_and_aliases_the_cli_has(tool: str) -> None:
    assert _problems(tool, "does not have") == []
    assert _problems(tool, "has no subcommands") == []


@pytest.mark.parametrize("tool", TOOLS)
def test_the_checked_in_data_are_what_a_fresh_regeneration_writes(tool: str) -> None:
    gen = _generator()
    document = gen.generate(tool, pinned_bin())
    checked_in = (REPO / "src" / "k8s_mcp_server" / "parse" / "data" / f"{tool}.json").read_text()
    assert gen.render(document) == checked_in, f"run: .venv/bin/python scripts/gen_cli_data.py {tool}"


@pytest.mark.parametrize("tool", ["kubectl", "helm"])
def test_the_data_header_names_the_pinned_binary_by_version_and_checksum(tool: str) -> None:
    loaded = clispec.load(tool)
    binary = pinned_bin() / tool
    assert loaded.data["sha256"] == hashlib.sha256(binary.read_bytes()).hexdigest()
    assert loaded.version == _generator().PINNED[tool]


def _dockerfile_args() -> dict[str, str]:
    text = (REPO / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S*)", text, re.M))


def test_the_dockerfile_pins_the_versions_and_checksums_of_the_data_headers() -> None:
    args = _dockerfile_args()
    assert args["KUBECTL_VERSION"] == clispec.load("kubectl").version
    assert args["KUBECTL_SHA256"] == clispec.load("kubectl").data["sha256"]
    assert args["HELM_VERSION"] == clispec.load("helm").version
    assert args["HELM_BINARY_SHA256"] == clispec.load("helm").data["sha256"]
    assert args["ISTIOCTL_VERSION"] == clispec.load("istioctl").version
    assert args["ARGOCD_VERSION"] == clispec.load("argocd").version


def test_the_scripts_fetch_the_versions_of_the_data_headers() -> None:
    cluster = (REPO / "scripts" / "cluster.sh").read_text()
    assert f"kubectl {clispec.load('kubectl').version}" in cluster
    assert f"helm {clispec.load('helm').version}" in cluster
    assert {tool: clispec.load(tool).version for tool in TOOLS} == _generator().PINNED


def test_istioctl_and_argocd_references_match_the_counts_their_readme_gives() -> None:
    # ../shared/cli-reference/README.md: argocd 159 commands, 1,521 own + 4,410 inherited flag
    # entries; istioctl 88 commands, 1,086 flag entries (our data add cobra's help command and
    # istioctl's --help, which the page leaves out).
    argocd = clispec.load("argocd").data["commands"]
    assert len(argocd) == 159 + 1
    assert sum(len(c["flags"]) for p, c in argocd.items() if p != "help") == 1521 + 4410
    istioctl = clispec.load("istioctl").data["commands"]
    assert len(istioctl) == 88 + 1
    assert sum(len(c["flags"]) - 1 for p, c in istioctl.items() if p != "help") == 1086


@pytest.mark.parametrize(
    ("tool", "banner", "expected"),
    [
        ("kubectl", "Client Version: v1.32.3\nKustomize Version: v5.5.0", True),
        ("kubectl", "Client Version: v1.32.9", True),
        ("kubectl", "Client Version: v1.33.0", False),
        ("helm", "v3.17.2+gcc0bbbd", True),
        ("helm", "v3.18.0+g1234", False),
        ("istioctl", "1.25.2", True),
        ("argocd", "argocd: v2.14.9+38985bd", True),
        ("argocd", "argocd: v3.0.0", False),
        ("argocd", "", False),
    ],
)
def test_a_cli_whose_version_has_no_grammar_is_recognised(tool: str, banner: str, expected: bool) -> None:
    assert clispec.has_grammar(tool, banner) is expected


def test_the_real_pinned_binaries_have_a_grammar() -> None:
    for tool, argv in (("kubectl", ("version", "--client")), ("helm", ("version", "--short"))):
        out = subprocess.run(
            [str(pinned_bin() / tool), *argv], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert clispec.has_grammar(tool, out), out
