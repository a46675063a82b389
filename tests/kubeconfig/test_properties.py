"""Properties: whatever arrives, the loader answers with a Kubeconfig or a KubeconfigError, nothing else."""

from __future__ import annotations

import base64
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, load_kubeconfig, load_kubeconfig_bytes
from k8s_mcp_server.kubeconfig.hosts import HostError, parse_url
from k8s_mcp_server.kubeconfig.yamlsafe import load_yaml
from tests.kubeconfig.factory import TOKEN, base_config, encode_yaml

POLICY = KubeconfigPolicy()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SANITIZED_KEYS = {
    "apiVersion", "kind", "clusters", "users", "contexts", "current-context", "name", "cluster", "user",
    "context", "namespace", "server", "tls-server-name", "certificate-authority-data", "disable-compression",
    "insecure-skip-tls-verify", "proxy-url", "token", "username", "password", "client-certificate-data",
    "client-key-data",
}  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.sampled_from(["", TOKEN, "https://x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from(
    [
        ("clusters",), ("clusters", 0), ("clusters", 0, "cluster"), ("clusters", 0, "name"),
        ("clusters", 0, "cluster", "server"), ("users", 0, "user"), ("users", 0, "user", "token"),
        ("users", 1, "user", "exec"), ("users", 1, "user", "client-key-data"), ("contexts", 0, "context"),
        ("contexts", 0, "context", "user"),
        ("contexts", 0, "context", "namespace"), ("current-context",), ("kind",), ("apiVersion",),
    ]
)  # fmt: skip


def outcome(load: Any, *args: Any) -> bytes | None:
    try:
        return bytes(load(*args).sanitized)
    except KubeconfigError as exc:
        assert exc.code in {"invalid_kubeconfig", "unsafe_kubeconfig"}
        assert TOKEN not in exc.message
        return None


def keys_of(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_load_or_raise_kubeconfig_error(data: bytes) -> None:
    outcome(load_kubeconfig_bytes, data, POLICY)


@FUZZ
@given(st.text(max_size=2048))
def test_any_text_sent_as_the_header_loads_or_raises_kubeconfig_error(text: str) -> None:
    outcome(load_kubeconfig, text, POLICY)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=1024))
def test_any_base64_encoded_text_loads_or_raises_kubeconfig_error(text: str) -> None:
    outcome(load_kubeconfig, base64.b64encode(text.encode()).decode(), POLICY)


@FUZZ
@given(st.lists(st.tuples(paths, json_values), min_size=1, max_size=3))
# found by Hypothesis: a dangling reference holding the token was echoed in the error message
@example([(("users", 0, "user"), None), (("contexts", 0, "context", "user"), TOKEN)])
@example([(("users", 0, "user"), None), (("current-context",), TOKEN)])
def test_a_good_kubeconfig_with_anything_planted_in_it_loads_cleanly_or_is_refused(
    plants: list[tuple[tuple[str | int, ...], Any]],
) -> None:
    data: Any = base_config()
    for path, value in plants:
        target = data
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    result = outcome(load_kubeconfig, encode_yaml(data), POLICY)
    if result is not None:
        reloaded = yaml.safe_load(result)
        assert keys_of(reloaded) <= SANITIZED_KEYS
        assert len(reloaded["clusters"]) == 1
        assert len(reloaded["contexts"]) == 1
        assert outcome(load_kubeconfig_bytes, result, POLICY) == result  # sanitizing is idempotent


@FUZZ
@given(st.integers(min_value=0, max_value=2000), st.text(max_size=5))
def test_a_good_kubeconfig_with_its_text_cut_or_spliced_loads_or_raises(offset: int, splice: str) -> None:
    text = yaml.safe_dump(base_config())
    mutated = text[:offset] + splice + text[offset + len(splice) :]
    outcome(load_kubeconfig_bytes, mutated.encode(), POLICY)


@FUZZ
@given(
    st.text(max_size=80)
    | st.from_regex(r"https://[\[\]0-9a-fA-Fx:.%@a-z-]{0,40}(:[0-9]{0,6})?(/.*)?", fullmatch=True)
)
def test_any_url_parses_or_raises_host_error(url: str) -> None:
    try:
        endpoint = parse_url(url, {"https": 443})
    except HostError as exc:
        assert exc.kind in {"invalid", "unsafe"}
    else:
        assert 0 < endpoint.port < 65536


@FUZZ
@given(st.text(max_size=512))
def test_any_python_string_given_to_the_yaml_reader_gives_plain_values_or_kubeconfig_error(text: str) -> None:
    try:
        load_yaml(text)
    except KubeconfigError as exc:
        assert exc.code == "invalid_kubeconfig"
