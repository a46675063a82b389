"""Packaging: ranges in pyproject.toml, exact hash-checked pins in the locks, and the locks are installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import venv
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# A fresh venv, pip and a resolve from the package index: generous, never a timing assertion.
INSTALL_TIMEOUT = 900


def lock_pins(name: str) -> dict[str, str]:
    """{canonical name: version} of a lock file's `name==version` lines."""
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def requirements(*groups: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    for group in groups:
        found += [Requirement(text) for text in project["optional-dependencies"][group]]
    return found


def test_requires_python_is_a_floor_without_a_ceiling() -> None:
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_pyproject_states_ranges_never_exact_pins() -> None:
    for requirement in requirements("dev"):
        assert not any(spec.operator in ("==", "===") for spec in requirement.specifier), requirement


@pytest.mark.parametrize(("lock", "groups"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_every_dependency_is_pinned_in_the_lock_within_its_range(lock: str, groups: tuple[str, ...]) -> None:
    pins = lock_pins(lock)
    for requirement in requirements(*groups):
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not in {lock}: run scripts/lock.sh"
        assert Version(pinned) in requirement.specifier, f"{lock} pins {requirement.name}=={pinned}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_in_the_lock_carries_a_hash(lock: str) -> None:
    text = (REPO / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    assert entries
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_runtime_lock_agrees_with_the_dev_lock() -> None:
    runtime, dev = lock_pins("requirements.lock"), lock_pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_environment_running_the_tests_is_the_dev_lock() -> None:
    """CI installs through scripts/bootstrap.sh dev: every locked package is there at the locked version."""
    wrong = {}
    for name, pinned in lock_pins("requirements-dev.lock").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            if name in ("colorama", "pywin32", "tzdata"):  # markers: Windows only (tzdata: psycopg's)
                continue
            installed = "missing"
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert wrong == {}


def test_bootstrap_refuses_a_python_older_than_3_11_and_says_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\nexit 1\n")
    old.chmod(0o755)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "bootstrap.sh")],
        env={"PATH": "/usr/bin:/bin", "K8S_MCP_PYTHON": str(old)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Python 3.11 or newer is required" in proc.stderr
    assert "K8S_MCP_PYTHON" in proc.stderr


def test_pip_install_dot_keeps_other_recent_fastapi_pydantic_httpx(tmp_path: Path) -> None:
    """A user's venv that already holds other recent versions: `pip install .` fits in, nothing conflicts."""
    others = {"fastapi": "0.118.3", "pydantic": "2.11.10", "httpx": "0.27.2"}
    lock = lock_pins("requirements.lock")
    assert all(lock[name] != pinned for name, pinned in others.items())  # really other versions
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")

    def pip(*args: str) -> None:
        proc = subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]

    pip(*(f"{name}=={pinned}" for name, pinned in others.items()))
    source = tmp_path / "source"  # a copy: pip's in-tree build must not leave build/ in the checkout
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    pip(str(source))
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
    probe = (
        "import json, importlib.metadata as m; from k8s_mcp_server.api import create_app; "
        "print(json.dumps({n: m.version(n) for n in ['fastapi', 'pydantic', 'httpx']}))"
    )
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(others).replace("'", '"')
