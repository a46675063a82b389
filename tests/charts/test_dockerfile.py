"""The Dockerfile builds the image the chart expects, checked statically: no container engine runs on
the machines this is developed and tested on, so the image is not built here."""

from __future__ import annotations

import json
import re
import tomllib

import yaml

from tests.charts.render import CHART
from tests.support.clibin import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_the_image_runs_as_the_numeric_non_root_user_the_chart_runs_as() -> None:
    users = [arg for word, arg in final_stage() if word == "USER"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert users == [str(values["image"]["uid"])]  # numeric: the kubelet can verify runAsNonRoot
    assert f"--uid {values['image']['uid']}" in DOCKERFILE


def test_the_entrypoint_is_the_console_script_serve() -> None:
    (entry,) = [arg for word, arg in final_stage() if word == "ENTRYPOINT"]
    assert json.loads(entry) == ["k8s-mcp-server", "serve"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["k8s-mcp-server"] == "k8s_mcp_server.cli:main"


def test_every_copied_source_exists_in_the_repository() -> None:
    for word, arg in final_stage():
        if word == "COPY" and not arg.startswith("--from"):
            *sources, _dest = arg.split()
            for source in sources:
                assert (REPO / source).exists(), source


def test_dependencies_come_from_the_hash_checked_lock_and_the_package_without_deps() -> None:
    runs = " ".join(arg for word, arg in final_stage() if word == "RUN")
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in runs
    assert "pip install --no-cache-dir --no-deps ." in runs
    lock = (REPO / "requirements.lock").read_text()
    entries = re.split(r"^(?=[A-Za-z0-9])", lock, flags=re.MULTILINE)  # one requirement and its hashes
    pins = [e for e in entries if "==" in e.split("\n", 1)[0]]
    assert pins and all("--hash=sha256:" in entry for entry in pins)


def test_the_base_image_is_a_python_the_package_supports() -> None:
    (arg,) = [a for word, a in instructions() if word == "ARG" and a.startswith("PYTHON_IMAGE=")]
    version = re.search(r"python:(\d+)\.(\d+)", arg)
    assert version is not None and (int(version[1]), int(version[2])) >= (3, 11)


def test_the_clis_are_pinned_to_the_versions_the_grammars_were_generated_from() -> None:
    args = dict(a.split("=", 1) for word, a in instructions() if word == "ARG" and "=" in a)
    assert args["KUBECTL_VERSION"].startswith("v1.32.")
    assert args["HELM_VERSION"].startswith("v3.17.")
    assert re.fullmatch(r"[0-9a-f]{64}", args["KUBECTL_SHA256"])
    assert re.fullmatch(r"[0-9a-f]{64}", args["HELM_BINARY_SHA256"])
