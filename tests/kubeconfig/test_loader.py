"""load_kubeconfig end to end: hostile kubeconfigs are refused with the right code, good ones sanitized."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, load_kubeconfig, load_kubeconfig_file
from tests.kubeconfig.factory import (
    CERT_PEM,
    DELETE,
    KEY_PEM,
    PASSWORD,
    TOKEN,
    b64,
    base_config,
    config,
    encode_json,
    encode_text,
    encode_yaml,
)

POLICY = KubeconfigPolicy()
INVALID, UNSAFE = "invalid_kubeconfig", "unsafe_kubeconfig"
EXEC = {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh", "args": ["-c", "id"]}


def server(url: str) -> dict[str, Any]:
    return config(**{"clusters.0.cluster.server": url})


HOSTILE_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    ("exec plugin", config(**{"users.0.user.exec": EXEC}), UNSAFE),
    ("auth-provider", config(**{"users.0.user.auth-provider": {"name": "oidc", "config": {}}}), UNSAFE),
    (
        "tokenFile",
        config(**{"users.0.user.tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}),
        UNSAFE,
    ),
    ("client-key path", config(**{"users.0.user.client-key": "/etc/kubernetes/pki/admin.key"}), UNSAFE),
    (
        "client-certificate path",
        config(**{"users.0.user.client-certificate": "/root/.kube/cert.pem"}),
        UNSAFE,
    ),
    (
        "certificate-authority path",
        config(**{"clusters.0.cluster.certificate-authority": "/etc/ca.crt"}),
        UNSAFE,
    ),
    ("impersonation", config(**{"users.0.user.as": "system:admin"}), UNSAFE),
    ("unknown user key", config(**{"users.0.user.token-file": "/etc/shadow"}), UNSAFE),
    ("unknown cluster key", config(**{"clusters.0.cluster.ca-file": "/etc/shadow"}), UNSAFE),
    ("merge key in a user", config(**{"users.0.user.<<": {"token": "x"}}), UNSAFE),
    ("proxy-url", config(**{"clusters.0.cluster.proxy-url": "http://proxy.corp:3128"}), UNSAFE),
    ("insecure-skip-tls-verify", config(**{"clusters.0.cluster.insecure-skip-tls-verify": True}), UNSAFE),
    ("http metadata", server("http://169.254.169.254"), UNSAFE),
    ("https metadata", server("https://169.254.169.254/latest/meta-data"), UNSAFE),
    ("http mapped IPv6 metadata", server("http://[::ffff:169.254.169.254]"), UNSAFE),
    ("https mapped IPv6 metadata", server("https://[::ffff:169.254.169.254]"), UNSAFE),
    ("hex-mapped IPv6 metadata", server("https://[::ffff:a9fe:a9fe]:443"), UNSAFE),
    ("NAT64 metadata", server("https://[64:ff9b::a9fe:a9fe]"), UNSAFE),
    ("6to4 metadata", server("https://[2002:a9fe:a9fe::1]"), UNSAFE),
    ("IPv4-compatible metadata", server("https://[::169.254.169.254]"), UNSAFE),
    ("decimal integer IPv4", server("https://2852039166"), UNSAFE),
    ("http decimal integer IPv4", server("http://2852039166"), UNSAFE),
    ("hex integer IPv4", server("https://0xA9FEA9FE"), UNSAFE),
    ("octal dotted IPv4", server("https://0251.0376.0251.0376"), UNSAFE),
    ("short dotted IPv4", server("https://169.254.43518"), UNSAFE),
    ("leading-zero dotted IPv4", server("https://169.254.169.0254"), UNSAFE),
    ("GCP metadata name", server("https://metadata.google.internal"), UNSAFE),
    ("GCP metadata name, upper case with root dot", server("https://METADATA.Google.Internal.:443"), UNSAFE),
    ("bare metadata name", server("https://metadata"), UNSAFE),
    ("EC2 instance-data name", server("https://instance-data"), UNSAFE),
    ("IPv6 link-local", server("https://[fe80::1]"), UNSAFE),
    ("Alibaba metadata", server("https://100.100.100.200"), UNSAFE),
    ("AWS IPv6 metadata", server("https://[fd00:ec2::254]"), UNSAFE),
    ("userinfo in the URL", server("https://admin:hunter2@k8s.example.com"), UNSAFE),
    ("file scheme", server("file:///etc/passwd"), UNSAFE),
    ("unix socket scheme", server("unix:///var/run/docker.sock"), UNSAFE),
    ("no scheme", server("k8s.example.com:6443"), INVALID),
    ("percent-encoded host", server("https://%31%36%39.254.169.254"), INVALID),
    ("tab in the URL", server("https://k8s.example.com\t/"), INVALID),
    ("backslash in the URL", server("https://evil.example\\@k8s.example.com"), INVALID),
    ("query string", server("https://k8s.example.com/?x=1"), INVALID),
    ("port out of range", server("https://k8s.example.com:70000"), INVALID),
    ("IPv6 zone id", server("https://[fe80::1%25eth0]"), INVALID),
    ("non-ASCII host", server("https://kübernetes.example"), INVALID),
    ("server missing", config(**{"clusters.0.cluster.server": DELETE}), INVALID),
    ("server not a string", server(["https://k8s.example.com"]), INVALID),  # type: ignore[arg-type]
    ("missing current-context with two contexts", config(**{"current-context": DELETE}), INVALID),
    ("current-context names no context", config(**{"current-context": "nope"}), INVALID),
    ("dangling cluster reference", config(**{"contexts.0.context.cluster": "gone"}), INVALID),
    ("dangling user reference", config(**{"contexts.0.context.user": "gone"}), INVALID),
    ("context without cluster", config(**{"contexts.0.context.cluster": DELETE}), INVALID),
    ("duplicate cluster names", config(**{"clusters.1.name": "prod"}), INVALID),
    ("wrong apiVersion", config(apiVersion="v2"), INVALID),
    ("wrong kind", config(kind="Pod"), INVALID),
    ("unknown top-level key", config(**{"current-contxt": "main"}), INVALID),
    ("unknown context key", config(**{"contexts.0.context.cluster-ref": "x"}), INVALID),
    ("unknown key beside name", config(**{"users.0.password": "x"}), INVALID),
    ("clusters not a list", config(clusters={"prod": {}}), INVALID),
    ("entry without name", config(**{"users.0.name": DELETE}), INVALID),
    ("token not a string", config(**{"users.0.user.token": [TOKEN]}), INVALID),
    ("insecure flag not a bool", config(**{"clusters.0.cluster.insecure-skip-tls-verify": "true"}), INVALID),
    ("key data not base64", config(**{"users.0.user.client-key-data": "not base64!"}), INVALID),
    ("namespace not a DNS label", config(**{"contexts.0.context.namespace": "Dev/../x"}), INVALID),
    ("no contexts", config(contexts=[], **{"current-context": DELETE}), INVALID),
]


@pytest.mark.parametrize(
    ("data", "code"), [(d, c) for _, d, c in HOSTILE_CONFIGS], ids=[i for i, _, _ in HOSTILE_CONFIGS]
)
def test_hostile_kubeconfig_is_refused_with_its_code(data: dict[str, Any], code: str) -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(data), POLICY)
    assert caught.value.code == code, caught.value.message
    assert TOKEN not in caught.value.message
    assert PASSWORD not in caught.value.message


ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)

HOSTILE_TEXTS: list[tuple[str, str, str]] = [
    ("alias bomb", encode_text(ALIAS_BOMB), INVALID),
    (
        "anchor and alias in a real kubeconfig",
        encode_text("users:\n- &u {name: a, user: {}}\n- *u\n"),
        INVALID,
    ),
    ("10 MB input", encode_text("a" * 10 * 1024 * 1024), INVALID),
    ("invalid base64", "this is not base64 at all: {}", INVALID),
    ("raw YAML sent instead of base64", "apiVersion: v1\nkind: Config\n", INVALID),
    ("one stray base64 character", "QUJD" + "Q", INVALID),
    ("not UTF-8", base64.b64encode(b"apiVersion: v1\nkind: \xff\xfe Config\n").decode(), INVALID),
    ("NUL byte", encode_text("apiVersion: v1\x00\n"), INVALID),
    ("duplicate keys", encode_text("apiVersion: v1\nkind: Config\nkind: Config\n"), INVALID),
    (
        "duplicate keys hiding a second server",
        encode_text(
            "clusters:\n- name: c\n  cluster:\n    server: https://k8s.example.com\n    server: https://169.254.169.254\n"
            "contexts: [{name: x, context: {cluster: c}}]\n"
        ),
        INVALID,
    ),
    ("two documents", encode_text("kind: Config\n---\nkind: Config\n"), INVALID),
    ("python tag", encode_text("kind: !!python/object/apply:os.system ['id']\n"), INVALID),
    ("binary tag", encode_text("kind: !!binary Q29uZmln\n"), INVALID),
    ("deep nesting", encode_text("preferences: " + "[" * 5000 + "]" * 5000), INVALID),
    ("a list, not a mapping", encode_text("- apiVersion: v1\n"), INVALID),
    ("base64 twice", encode_text(encode_yaml(base_config())), INVALID),
    ("empty", "", INVALID),
    ("only whitespace", " \n\t ", INVALID),
    ("empty document", encode_text("# nothing\n"), INVALID),
    ("bad YAML on the token's line", encode_text(f"users:\n- name: a\n  user: {{token: {TOKEN}]\n"), INVALID),
]


@pytest.mark.parametrize(
    ("encoded", "code"), [(e, c) for _, e, c in HOSTILE_TEXTS], ids=[i for i, _, _ in HOSTILE_TEXTS]
)
def test_hostile_input_text_is_refused_with_its_code(encoded: str, code: str) -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encoded, POLICY)
    assert caught.value.code == code, caught.value.message
    assert TOKEN not in caught.value.message


def sanitized(encoded: str, policy: KubeconfigPolicy = POLICY) -> dict[str, Any]:
    loaded = yaml.safe_load(load_kubeconfig(encoded, policy).sanitized)
    assert isinstance(loaded, dict)
    return loaded


def test_token_kubeconfig_is_reduced_to_the_current_context_its_cluster_and_user() -> None:
    assert sanitized(encode_yaml(base_config())) == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": base_config()["clusters"][0]["cluster"]}],
        "users": [{"name": "alice", "user": {"token": TOKEN}}],
        "contexts": [{"name": "main", "context": {"cluster": "prod", "user": "alice", "namespace": "dev"}}],
        "current-context": "main",
    }


def test_client_certificate_data_kubeconfig_keeps_the_embedded_certificate_and_key() -> None:
    result = sanitized(encode_yaml(config(**{"current-context": "side"})))
    assert result["users"] == [
        {"name": "bob", "user": {"client-certificate-data": b64(CERT_PEM), "client-key-data": b64(KEY_PEM)}}
    ]
    assert [c["name"] for c in result["clusters"]] == ["staging"]
    assert result["contexts"] == [{"name": "side", "context": {"cluster": "staging", "user": "bob"}}]


def test_json_kubeconfig_loads_like_its_yaml_form() -> None:
    assert (
        load_kubeconfig(encode_json(base_config()), POLICY).sanitized
        == load_kubeconfig(encode_yaml(base_config()), POLICY).sanitized
    )


def test_url_safe_base64_with_newlines_and_no_padding_is_accepted() -> None:
    raw = yaml.safe_dump(base_config()).encode() + b"\n# ~~~ ???>>>\n"  # bytes that encode to - and _
    encoded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "-" in encoded or "_" in encoded
    wrapped = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n"
    assert sanitized(wrapped)["current-context"] == "main"


def test_missing_kind_and_api_version_are_tolerated_as_kubectl_does() -> None:
    assert sanitized(encode_yaml(config(kind=DELETE, apiVersion=DELETE)))["kind"] == "Config"


def test_a_single_context_is_used_when_current_context_is_absent() -> None:
    data = config(**{"current-context": DELETE})
    data["contexts"] = data["contexts"][1:]
    assert sanitized(encode_yaml(data))["current-context"] == "side"


def test_dangling_references_in_unused_contexts_do_not_block_the_selected_one() -> None:
    assert (
        sanitized(encode_yaml(config(**{"contexts.1.context.cluster": "deleted"})))["current-context"]
        == "main"
    )


def test_a_context_without_a_user_gives_a_kubeconfig_without_users() -> None:
    result = sanitized(encode_yaml(config(**{"contexts.0.context.user": DELETE})))
    assert result["users"] == []
    assert "user" not in result["contexts"][0]["context"]


def test_extensions_and_preferences_are_dropped() -> None:
    data = config(
        extensions=[{"name": "x", "extension": {"a": 1}}],
        preferences={"colors": True},
        **{
            "clusters.0.cluster.extensions": [{"name": "y", "extension": {}}],
            "contexts.0.context.extensions": [],
        },
    )
    text = load_kubeconfig(encode_yaml(data), POLICY).sanitized.decode()
    assert "extension" not in text
    assert "preferences" not in text


def test_numeric_and_boolean_looking_names_survive_as_strings() -> None:
    data = config(**{"contexts.0.name": "no", "current-context": "no", "clusters.0.name": "0x1F"})
    data["contexts"][0]["context"]["cluster"] = "0x1F"
    text = (
        yaml.safe_dump(data).replace("'no'", "no").replace("'0x1F'", "0x1F")
    )  # unquoted, as people write them
    with pytest.raises(KubeconfigError):  # YAML 1.1 reads a bare `no` as false: refused, with a hint to quote
        load_kubeconfig(encode_text(text), POLICY)
    text = yaml.safe_dump(data).replace("'0x1F'", "0x1F")
    result = sanitized(encode_text(text))
    assert result["current-context"] == "no"
    assert result["clusters"][0]["name"] == "0x1F"


def test_a_byte_order_mark_is_tolerated() -> None:
    raw = "\ufeff".encode() + yaml.safe_dump(base_config()).encode()
    assert sanitized(base64.b64encode(raw).decode())["current-context"] == "main"


def test_sanitized_output_loads_again_to_the_same_bytes() -> None:
    first = load_kubeconfig(
        encode_yaml(config(**{"users.0.user.password": PASSWORD, "users.0.user.username": "a"})), POLICY
    )
    second = load_kubeconfig(base64.b64encode(first.sanitized).decode(), POLICY)
    assert second.sanitized == first.sanitized
    assert second.cluster.server == first.cluster.server


def test_cluster_ref_carries_server_namespace_and_fingerprint_of_the_decoded_bytes() -> None:
    raw = yaml.safe_dump(base_config()).encode()
    loaded = load_kubeconfig(base64.b64encode(raw).decode(), POLICY)
    assert loaded.cluster.server == "https://k8s.example.com:6443"
    assert loaded.cluster.context_namespace == "dev"
    assert loaded.cluster.fingerprint == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_context_namespace_is_none_when_the_context_has_none() -> None:
    loaded = load_kubeconfig(encode_yaml(config(**{"current-context": "side"})), POLICY)
    assert loaded.cluster.context_namespace is None


def test_credentials_hold_the_used_users_secrets_in_raw_and_decoded_forms() -> None:
    loaded = load_kubeconfig(encode_yaml(config(**{"users.0.user.password": PASSWORD})), POLICY)
    assert {TOKEN, PASSWORD} <= set(loaded.credentials)
    loaded = load_kubeconfig(encode_yaml(config(**{"current-context": "side"})), POLICY)
    creds = set(loaded.credentials)
    assert {b64(KEY_PEM), KEY_PEM, b64(CERT_PEM), CERT_PEM} <= creds
    assert TOKEN not in creds  # alice's token never reaches kubectl, so there is nothing to redact
    assert "MHcCAQEEIcanaryKEYbody0123456789abcdef" in creds
    assert not any("publicCA" in c for c in creds)  # the CA is not a secret
    assert list(loaded.credentials) == sorted(loaded.credentials, key=lambda c: (-len(c), c))


def test_credentials_include_the_canonical_form_of_wrapped_base64_data() -> None:
    wrapped = "\n".join(b64(KEY_PEM)[i : i + 20] for i in range(0, len(b64(KEY_PEM)), 20))
    data = config(**{"users.1.user.client-key-data": wrapped, "current-context": "side"})
    loaded = load_kubeconfig(encode_yaml(data), POLICY)
    assert b64(KEY_PEM) in loaded.credentials
    assert wrapped in loaded.credentials


def test_repr_and_str_show_no_token_or_content() -> None:
    loaded = load_kubeconfig(encode_yaml(base_config()), POLICY)
    for text in (repr(loaded), str(loaded), f"{loaded!r} {[loaded]}"):
        assert TOKEN not in text
        assert "k8s.example.com" not in text
        assert "hidden" in text


def test_insecure_tls_and_proxy_url_pass_when_the_policy_allows_them() -> None:
    policy = KubeconfigPolicy(allow_insecure_tls=True, allow_proxy_url=True)
    data = config(
        **{
            "clusters.0.cluster.insecure-skip-tls-verify": True,
            "clusters.0.cluster.proxy-url": "socks5://proxy.corp:1080",
        }
    )
    cluster = sanitized(encode_yaml(data), policy)["clusters"][0]["cluster"]
    assert cluster["insecure-skip-tls-verify"] is True
    assert cluster["proxy-url"] == "socks5://proxy.corp:1080"


@pytest.mark.parametrize(
    "proxy", ["http://169.254.169.254:80", "http://user:pw@proxy.corp", "ftp://proxy.corp", "http://metadata"]
)
def test_an_allowed_proxy_url_is_still_checked_like_a_server(proxy: str) -> None:
    policy = KubeconfigPolicy(allow_proxy_url=True)
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(config(**{"clusters.0.cluster.proxy-url": proxy})), policy)
    assert caught.value.code == UNSAFE


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9096",
        "https://localhost:9096",
        "https://[::1]:9096",
        "https://[::ffff:127.0.0.1]:9096",
    ],
)
def test_the_proxys_own_listen_address_is_refused_through_any_local_name(url: str) -> None:
    policy = KubeconfigPolicy(denied_hosts=("127.0.0.1:9096",))
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(server(url)), policy)
    assert caught.value.code == UNSAFE


def test_another_port_on_loopback_is_allowed_for_local_clusters() -> None:
    policy = KubeconfigPolicy(denied_hosts=("127.0.0.1:9096",))
    assert sanitized(encode_yaml(server("https://127.0.0.1:6443")), policy)["clusters"][0]["cluster"][
        "server"
    ] == ("https://127.0.0.1:6443")


def test_messages_name_the_entry_and_what_to_change() -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(config(**{"users.0.user.exec": EXEC})), POLICY)
    assert caught.value.message.startswith("users[0].user.exec runs a credential plugin on the proxy host")
    assert "run `k8s-mcp-server kubeconfig export --base64` on your machine" in caught.value.message
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(config(**{"contexts.0.context.cluster": "gone"})), POLICY)
    assert caught.value.message == (
        "contexts[0].context.cluster names no entry of clusters; use the name of one of them"
    )


def test_every_problem_is_reported_at_once_and_unsafe_wins() -> None:
    data = config(**{"users.0.user.token": ["x"], "clusters.0.cluster.server": "http://169.254.169.254"})
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(data), POLICY)
    assert caught.value.code == UNSAFE
    assert "users[0].user.token must be a string" in caught.value.message
    assert "clusters[0].cluster.server" in caught.value.message


def test_userinfo_password_never_reaches_the_message() -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(server(f"https://admin:{PASSWORD}@k8s.example.com")), POLICY)
    assert PASSWORD not in caught.value.message


def test_default_kubeconfig_file_is_loaded_with_the_same_checks(tmp_path: Path) -> None:
    good = tmp_path / "config"
    good.write_text(yaml.safe_dump(base_config()))
    assert load_kubeconfig_file(good, POLICY).cluster.server == "https://k8s.example.com:6443"
    bad = tmp_path / "bad"
    bad.write_text(yaml.safe_dump(config(**{"users.0.user.exec": EXEC})))
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig_file(bad, POLICY)
    assert caught.value.code == UNSAFE


def test_default_kubeconfig_file_that_is_missing_or_too_large_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig_file(tmp_path / "absent", POLICY)
    assert caught.value.code == INVALID
    big = tmp_path / "big"
    big.write_bytes(b"#" * (POLICY.max_bytes + 1))
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig_file(big, POLICY)
    assert caught.value.code == INVALID


@pytest.mark.parametrize(
    "changes",
    [
        {"contexts.0.context.user": TOKEN},
        {"current-context": TOKEN},
        {"contexts.0.context.cluster": "pw"},
        {"users.0.user.auth-provider": {"name": "oidc", "config": {"refresh-token": "x", "id-token": "y"}}},
    ],
)
def test_a_name_that_equals_a_users_secret_is_cut_from_the_message(changes: dict[str, Any]) -> None:
    data = config(**changes, **{"users.1.user.password": "pw", "users.0.user.password": "pw"})
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(encode_yaml(data), POLICY)
    assert TOKEN not in caught.value.message
    assert "'pw'" not in caught.value.message


UNUSED_BUT_UNSAFE: list[tuple[str, dict[str, Any]]] = [
    ("exec plugin", {"users.1.user": {"exec": EXEC}}),
    ("auth-provider", {"users.1.user": {"auth-provider": {"name": "gcp"}}}),
    ("client-key path", {"users.1.user": {"client-key": "/etc/kubernetes/pki/admin.key"}}),
    ("tokenFile", {"users.1.user": {"tokenFile": "/var/run/secrets/token"}}),
    ("certificate-authority path", {"clusters.1.cluster.certificate-authority": "/etc/ca.crt"}),
    ("metadata server", {"clusters.1.cluster.server": "https://169.254.169.254"}),
    ("unknown cluster key", {"clusters.1.cluster.ca-file": "/etc/shadow"}),
    ("unknown context key", {"contexts.1.context.cluster-ref": "x"}),
    ("dangling reference", {"contexts.1.context.user": "gone"}),
]


@pytest.mark.parametrize(
    "changes", [c for _, c in UNUSED_BUT_UNSAFE], ids=[name for name, _ in UNUSED_BUT_UNSAFE]
)
def test_what_the_context_in_use_does_not_name_is_dropped_before_any_check(changes: dict[str, Any]) -> None:
    result = sanitized(encode_yaml(config(**changes)))
    assert [c["name"] for c in result["contexts"]] == ["main"]
    assert [c["name"] for c in result["clusters"]] == ["prod"]
    assert [u["name"] for u in result["users"]] == ["alice"]


def test_three_contexts_token_in_use_exec_and_file_path_unused_keep_only_the_one_in_use() -> None:
    data = config()
    data["users"][1] = {"name": "eks", "user": {"exec": EXEC}}
    data["users"].append({"name": "files", "user": {"client-certificate": "c.pem", "client-key": "k.pem"}})
    data["clusters"].append(
        {"name": "onprem", "cluster": {"server": "https://k.corp", "certificate-authority": "ca"}}
    )
    data["contexts"][1] = {"name": "eks", "context": {"cluster": "staging", "user": "eks"}}
    data["contexts"].append({"name": "onprem", "context": {"cluster": "onprem", "user": "files"}})
    loaded = load_kubeconfig(encode_yaml(data), POLICY)
    assert loaded.sanitized.count(b"name:") == 3
    assert yaml.safe_load(loaded.sanitized) == sanitized(encode_yaml(base_config()))
    for context in ("eks", "onprem"):  # the same file with another context in use is still refused
        with pytest.raises(KubeconfigError) as caught:
            load_kubeconfig(encode_yaml({**data, "current-context": context}), POLICY)
        assert caught.value.code == UNSAFE
        assert "k8s-mcp-server kubeconfig export" in caught.value.message
