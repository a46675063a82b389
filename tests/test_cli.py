"""The console script: `serve` refuses unsafe binds; `keys create` and `keys explain`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s_mcp_server.cli import bind_refusal, build_parser
from k8s_mcp_server.keys import KeyStore, load_api_keys
from k8s_mcp_server.settings import Settings
from tests.api.identity_support import READER_POLICY, SCALER_POLICY, write_keys
from tests.support.cluster import REPO

CONSOLE_SCRIPT = Path(sys.executable).parent / "k8s-mcp-server"


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("K8S_MCP_")}
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        cwd=REPO,
        check=False,
    )


def test_starting_on_0_0_0_0_without_keys_fails_with_a_message_that_says_what_to_do() -> None:
    result = run_script("serve", "--host", "0.0.0.0", "--port", "1")  # noqa: S104 - the case under test
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in result.stderr
    for hint in ("keys create", "K8S_MCP_API_KEYS_FILE", "127.0.0.1", "--insecure-bind"):
        assert hint in result.stderr
    assert result.stdout == ""


def test_starting_on_0_0_0_0_from_the_environment_without_keys_fails_the_same_way() -> None:
    result = run_script("serve", env={"K8S_MCP_HOST": "0.0.0.0"})  # noqa: S104
    assert result.returncode == 2
    assert "K8S_MCP_API_KEYS_FILE" in result.stderr


def test_a_non_loopback_bind_with_keys_still_needs_the_allowed_host_names(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("a", "kms_x", None)])
    result = run_script("serve", "--host", "0.0.0.0", env={"K8S_MCP_API_KEYS_FILE": str(keys)})  # noqa: S104
    assert result.returncode == 2
    assert "K8S_MCP_ALLOWED_HOSTS" in result.stderr


def test_bind_refusal_accepts_loopback_and_a_fully_configured_public_bind(tmp_path: Path) -> None:
    assert bind_refusal(Settings(host="127.0.0.1")) is None
    assert bind_refusal(Settings(host="::1")) is None
    assert bind_refusal(Settings(host="localhost")) is None
    public = Settings(host="10.0.0.5", api_keys_file=tmp_path / "k", allowed_hosts=("mcp.example:9096",))
    assert bind_refusal(public) is None
    insecure = Settings(host="10.0.0.5", allow_insecure_bind=True, allowed_hosts=("10.0.0.5:9096",))
    assert bind_refusal(insecure) is None
    assert bind_refusal(Settings(host="10.0.0.5", allow_insecure_bind=True)) is not None  # no host list


def test_keys_create_prints_a_new_key_once_and_a_keys_file_holding_only_its_hash(tmp_path: Path) -> None:
    result = run_script("keys", "create", "ci-bot")
    assert result.returncode == 0, result.stderr
    found = re.findall(r"kms_[A-Za-z0-9_-]{43}", result.stdout)
    assert len(found) == 1
    key = found[0]
    file_text = result.stdout[result.stdout.index("\nkeys:\n") + 1 :].split("\n\n")[0] + "\n"
    entry = yaml.safe_load(file_text)["keys"]
    assert entry == [{"principal": "ci-bot", "sha256": hashlib.sha256(key.encode()).hexdigest()}]
    assert key not in file_text
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(file_text)  # the printed block is a whole keys file, no header to add by hand
    loaded = load_api_keys(keys_file)
    assert [k.principal for k in loaded] == ["ci-bot"]
    assert list(tmp_path.iterdir()) == [keys_file]  # nothing else was written anywhere we can see


def test_two_created_keys_differ() -> None:
    out = [io.StringIO(), io.StringIO()]
    for buffer in out:
        assert main_with_out(["keys", "create", "a"], buffer) == 0
    keys = [re.findall(r"kms_\S+", b.getvalue())[0] for b in out]
    assert keys[0] != keys[1]


def main_with_out(argv: list[str], out: io.StringIO) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args, out)
    return result


def test_keys_create_with_a_policy_validates_it_and_names_its_absolute_path(tmp_path: Path) -> None:
    policy = tmp_path / "scaler.yaml"
    policy.write_text(SCALER_POLICY)
    out = io.StringIO()
    assert main_with_out(["keys", "create", "scaler", "--policy", str(policy)], out) == 0
    text = out.getvalue()
    entry = yaml.safe_load(text[text.index("\nkeys:\n") + 1 :].split("\n\n")[0])["keys"]
    assert entry[0]["policy"] == str(policy.resolve())


def test_keys_create_refuses_a_broken_policy_and_prints_no_key(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("version: 1\nrulez: []\n")
    out = io.StringIO()
    assert main_with_out(["keys", "create", "x", "--policy", str(policy)], out) == 1
    assert "kms_" not in out.getvalue()
    assert "rulez" in out.getvalue()


@pytest.mark.parametrize("name", ["anonymous", "", "with space", "a/b", "x" * 200, "_underscore-first"])
def test_keys_create_refuses_principal_names_that_are_not_plain(name: str) -> None:
    out = io.StringIO()
    assert main_with_out(["keys", "create", name], out) == 2
    assert "kms_" not in out.getvalue()


def test_keys_explain_uses_the_principals_own_policy(tmp_path: Path) -> None:
    reader, scaler = tmp_path / "reader.yaml", tmp_path / "scaler.yaml"
    reader.write_text(READER_POLICY)
    scaler.write_text(SCALER_POLICY)
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("reader", "kms_r", None), ("scaler", "kms_s", scaler)])
    command = ["--", "kubectl", "scale", "deployment", "x", "--replicas=2", "-n", "dev-a"]

    out = io.StringIO()
    assert (
        main_with_out(["keys", "explain", "--principal", "scaler", "--keys", str(keys), *command], out) == 0
    )
    assert "principal:  scaler" in out.getvalue() and "decision:   allow" in out.getvalue()
    assert str(scaler) in out.getvalue()

    out = io.StringIO()
    args = [
        "keys",
        "explain",
        "--principal",
        "reader",
        "--keys",
        str(keys),
        "--policy",
        str(reader),
        *command,
    ]
    assert main_with_out(args, out) == 1  # no own policy: the default (here: reader.yaml) denies
    assert "decision:   deny" in out.getvalue() and str(reader) in out.getvalue()


def test_keys_explain_for_an_unknown_principal_says_so(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("reader", "kms_r", None)])
    out = io.StringIO()
    assert (
        main_with_out(
            ["keys", "explain", "--principal", "ghost", "--keys", str(keys), "--", "kubectl", "get", "ns"],
            out,
        )
        == 2
    )
    assert "ghost" in out.getvalue()


def test_the_keys_store_sees_a_removed_key_after_the_file_changes(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    write_keys(keys, [("a", "kms_a", None), ("b", "kms_b", None)])
    store = KeyStore(keys, check_interval=0)
    assert {k.principal for k in store.current()} == {"a", "b"}
    write_keys(keys, [("a", "kms_a", None)])
    assert {k.principal for k in store.current()} == {"a"}
    keys.unlink()
    assert store.current() == () and store.last_error is not None


def test_a_long_listing_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """`audit query FILE | head`: no BrokenPipeError traceback, the shell's 141 for a cut-off pipe."""
    audit = tmp_path / "audit.jsonl"
    record = {"event": "decision", "decision": "deny", "ts": "2026-12-02T00:00:00Z", "principal": "a"}
    audit.write_text("".join(json.dumps({**record, "request_id": f"r{i}"}) + "\n" for i in range(30000)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "k8s_mcp_server", "audit", "query", str(audit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # what head does after its lines
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err
