"""`kubeconfig export`: one context, files embedded, an exec plugin replaced by what it returns."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mcp_server.cli import main
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, load_kubeconfig_bytes
from k8s_mcp_server.kubeconfig.export import ExportError, export_kubeconfig, kubeconfig_paths
from tests.kubeconfig.factory import CA_PEM, CERT_PEM, KEY_PEM, TOKEN, b64

PLUGIN_TOKEN = "plugin-token-5e1d0c9b8a7f"


def write_plugin(folder: Path, *, status: dict[str, Any] | None = None, exit_code: int = 0) -> Path:
    """A credential plugin: prints an ExecCredential, and records its argv, env and exec info."""
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": status if status is not None else {"token": PLUGIN_TOKEN},
    }
    seen = folder / "seen.json"
    plugin = folder / "plugin"
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(seen)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], "
        "'region': os.environ.get('REGION'), 'info': json.loads(os.environ['KUBERNETES_EXEC_INFO'])}))\n"
        f"print({json.dumps(credential)!r})\n"
        f"sys.exit({exit_code})\n"
    )
    plugin.chmod(0o755)
    return plugin


def kubeconfig(folder: Path, plugin: Path | None = None, **user: Any) -> Path:
    """Three contexts: `tok` (token user, current), `cloud` (exec user), `files` (file-path user)."""
    (folder / "ca.crt").write_text(CA_PEM)
    (folder / "client.crt").write_text(CERT_PEM)
    (folder / "client.key").write_text(KEY_PEM)
    exec_spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": str(plugin or folder / "absent-plugin"),
        "args": ["token", "--cluster", "prod"],
        "env": [{"name": "REGION", "value": "eu-west-1"}],
        "interactiveMode": "Never",
        "provideClusterInfo": True,
    }
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "tok",
        "clusters": [
            {
                "name": "prod",
                "cluster": {"server": "https://k8s.example.com", "certificate-authority": "ca.crt"},
            },
        ],
        "users": [
            {"name": "tok", "user": {"token": TOKEN}},
            {"name": "cloud", "user": user or {"exec": exec_spec}},
            {"name": "files", "user": {"client-certificate": "client.crt", "client-key": "client.key"}},
        ],
        "contexts": [
            {"name": "tok", "context": {"cluster": "prod", "user": "tok", "namespace": "dev"}},
            {"name": "cloud", "context": {"cluster": "prod", "user": "cloud"}},
            {"name": "files", "context": {"cluster": "prod", "user": "files"}},
        ],
    }
    path = folder / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


def exported_doc(path: Path, context: str | None = None) -> dict[str, Any]:
    loaded = yaml.safe_load(export_kubeconfig([path], context=context).text)
    assert isinstance(loaded, dict)
    return loaded


def test_the_current_context_alone_is_exported_with_its_ca_file_embedded(tmp_path: Path) -> None:
    doc = exported_doc(kubeconfig(tmp_path))
    assert [c["name"] for c in doc["contexts"]] == ["tok"]
    assert doc["users"] == [{"name": "tok", "user": {"token": TOKEN}}]
    assert doc["clusters"] == [
        {
            "name": "prod",
            "cluster": {"server": "https://k8s.example.com", "certificate-authority-data": b64(CA_PEM)},
        }
    ]
    assert doc["contexts"][0]["context"] == {"cluster": "prod", "user": "tok", "namespace": "dev"}


def test_an_exec_user_is_replaced_by_the_token_its_plugin_prints(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path)
    exported = export_kubeconfig([kubeconfig(tmp_path, plugin)], context="cloud")
    doc = yaml.safe_load(exported.text)
    assert doc["users"] == [{"name": "cloud", "user": {"token": PLUGIN_TOKEN}}]
    assert doc["current-context"] == "cloud"
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["argv"] == ["token", "--cluster", "prod"]
    assert seen["region"] == "eu-west-1"
    assert seen["info"]["kind"] == "ExecCredential"
    assert seen["info"]["spec"]["interactive"] is False
    assert seen["info"]["spec"]["cluster"]["server"] == "https://k8s.example.com"
    assert exported.notes == ()  # the server's own checks accept it
    load_kubeconfig_bytes(exported.text, KubeconfigPolicy())


def test_a_plugin_returning_a_client_certificate_gives_embedded_certificate_data(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, status={"clientCertificateData": CERT_PEM, "clientKeyData": KEY_PEM})
    doc = exported_doc(kubeconfig(tmp_path, plugin), "cloud")
    assert doc["users"][0]["user"] == {
        "client-certificate-data": b64(CERT_PEM),
        "client-key-data": b64(KEY_PEM),
    }


def test_file_paths_are_read_relative_to_the_kubeconfig_as_kubectl_does(tmp_path: Path) -> None:
    doc = exported_doc(kubeconfig(tmp_path), "files")
    assert doc["users"][0]["user"] == {
        "client-certificate-data": b64(CERT_PEM),
        "client-key-data": b64(KEY_PEM),
    }


def test_a_token_file_becomes_the_token(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    doc = exported_doc(kubeconfig(tmp_path, tokenFile="token"), "cloud")
    assert doc["users"][0]["user"] == {"token": TOKEN}


def test_an_expiring_credential_says_when_to_export_again(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path, status={"token": PLUGIN_TOKEN, "expirationTimestamp": "2030-01-01T00:00:00Z"}
    )
    exported = export_kubeconfig([kubeconfig(tmp_path, plugin)], context="cloud")
    assert any("expires at 2030-01-01T00:00:00Z" in note for note in exported.notes)


def test_a_failing_plugin_is_reported_without_its_output(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, exit_code=3)
    with pytest.raises(ExportError) as caught:
        export_kubeconfig([kubeconfig(tmp_path, plugin)], context="cloud")
    assert "exited with status 3" in str(caught.value)
    assert PLUGIN_TOKEN not in str(caught.value)


def test_a_plugin_that_prints_no_credential_is_refused_without_echoing_it(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, status={"nothing": PLUGIN_TOKEN})
    with pytest.raises(ExportError) as caught:
        export_kubeconfig([kubeconfig(tmp_path, plugin)], context="cloud")
    assert "neither a token nor a client certificate" in str(caught.value)
    assert PLUGIN_TOKEN not in str(caught.value)


def test_a_missing_plugin_names_it_and_repeats_its_install_hint(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path, exec={"command": "aws-iam-x", "installHint": "brew install aws-iam-x"})
    with pytest.raises(ExportError) as caught:
        export_kubeconfig([path], context="cloud", environ={"PATH": str(tmp_path)})
    assert str(caught.value) == (
        "user 'cloud' needs the credential plugin 'aws-iam-x', which is not on PATH; brew install aws-iam-x"
    )


def test_an_auth_provider_user_is_told_to_move_to_the_exec_plugin(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_kubeconfig([kubeconfig(tmp_path, **{"auth-provider": {"name": "gcp"}})], context="cloud")
    assert "gke-gcloud-auth-plugin" in str(caught.value)


def test_an_unknown_context_lists_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_kubeconfig([kubeconfig(tmp_path)], context="nope")
    assert "contexts: cloud, files, tok" in str(caught.value)


def test_kubeconfig_lists_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    first = tmp_path / "a"
    first.mkdir()
    extra = first / "config"
    extra.write_text(
        yaml.safe_dump(
            {
                "current-context": "other",
                "clusters": [{"name": "prod", "cluster": {"server": "https://first.example.com"}}],
                "users": [{"name": "u", "user": {"token": "first-token"}}],
                "contexts": [{"name": "other", "context": {"cluster": "prod", "user": "u"}}],
            }
        )
    )
    paths = kubeconfig_paths(None, {"KUBECONFIG": f"{extra}:{tmp_path / 'missing'}:{kubeconfig(tmp_path)}"})
    doc = yaml.safe_load(export_kubeconfig(paths).text)
    assert doc["current-context"] == "other"  # the first file that sets it
    assert doc["clusters"][0]["cluster"] == {"server": "https://first.example.com"}  # first entry wins
    tok = yaml.safe_load(export_kubeconfig(paths, context="tok").text)
    assert tok["users"] == [{"name": "tok", "user": {"token": TOKEN}}]


def test_no_kubeconfig_at_all_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_kubeconfig(kubeconfig_paths(None, {"HOME": str(tmp_path)}))
    assert f"no kubeconfig found at {tmp_path}/.kube/config" in str(caught.value)


def test_what_a_default_server_would_refuse_is_noted(tmp_path: Path) -> None:
    exported = export_kubeconfig([kubeconfig(tmp_path, token=TOKEN, **{"as": "admin"})], context="cloud")
    assert any("would refuse" in note and "impersonates" in note for note in exported.notes)
    assert all(TOKEN not in note for note in exported.notes)


def test_the_cli_prints_one_line_of_base64_for_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = write_plugin(tmp_path)
    path = kubeconfig(tmp_path, plugin)
    assert main(["kubeconfig", "export", "--kubeconfig", str(path), "--context", "cloud", "--base64"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    doc = yaml.safe_load(base64.b64decode(out))
    assert doc["users"] == [{"name": "cloud", "user": {"token": PLUGIN_TOKEN}}]


def test_the_cli_reports_a_failure_on_stderr_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kubeconfig", "export", "--kubeconfig", str(tmp_path / "absent")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kubeconfig export: no kubeconfig found at")


def test_the_server_never_loads_the_module_that_runs_plugins() -> None:
    probe = (
        "import sys, k8s_mcp_server.cli, k8s_mcp_server.api, k8s_mcp_server.pipeline; "
        "k8s_mcp_server.cli.build_parser(); "
        "print('k8s_mcp_server.kubeconfig.export' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "False"
