"""Hypothesis properties: planted secrets never survive, redaction is idempotent, benign text is unchanged."""

from __future__ import annotations

import base64
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8s_mcp_server.redact import Redactor
from k8s_mcp_server.redact.placeholder import PLACEHOLDER_RE

from . import samples as s

REDACTOR = Redactor()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BENIGN_WORDS = [
    "pod",
    "web",
    "running",
    "ready",
    "default",
    "nginx",
    "1.25",
    "10.0.0.1",
    "worker-1",
    "3d",
    "app",
    "label",
    "tier",
    "frontend",
    "Pending",
    "<none>",
    "80/TCP",
    "ClusterIP",
    "true",
    "42",
]
benign_scalar = st.one_of(st.sampled_from(BENIGN_WORDS), st.integers(-1000, 1000), st.booleans())
benign_key = st.sampled_from(
    ["name", "app", "image", "replicas", "labels", "spec", "status", "ports", "tier"]
)
benign_tree = st.recursive(
    benign_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(benign_key, children, max_size=4)
    ),
    max_leaves=20,
)
# a distinctive prefix keeps a planted value from coinciding with the document's own keys and words
secret_value = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=40
).map(lambda v: "Zq9!" + v)


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def plant(tree: Any, obj: Any, path: list[int]) -> Any:
    """Put `obj` somewhere inside `tree` (guided by `path`), keeping the rest."""
    if isinstance(tree, dict) and tree and path:
        key = sorted(tree)[path[0] % len(tree)]
        return {**tree, key: plant(tree[key], obj, path[1:])}
    if isinstance(tree, list) and tree and path:
        i = path[0] % len(tree)
        return [*tree[:i], plant(tree[i], obj, path[1:]), *tree[i + 1 :]]
    return {"payload": obj, "other": tree}


def dump(tree: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(tree, indent=4) + "\n"
    return yaml.safe_dump(tree, sort_keys=True, default_flow_style=False)


@SETTINGS
@given(
    tree=benign_tree,
    values=st.dictionaries(
        st.sampled_from(["password", "key", "tls.key", "config", "a"]), secret_value, min_size=1, max_size=3
    ),
    path=st.lists(st.integers(0, 10), max_size=5),
    as_json=st.booleans(),
    string_data=st.booleans(),
)
def test_secret_values_planted_anywhere_in_a_document_never_survive(
    tree: Any, values: dict[str, str], path: list[int], as_json: bool, string_data: bool
) -> None:
    section = {"stringData": values} if string_data else {"data": {k: b64(v) for k, v in values.items()}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "type": "Opaque", **section}
    out = PLACEHOLDER_RE.sub("", REDACTOR.redact(s.raw(dump(plant(tree, secret, path), as_json))).stdout)
    for value in values.values():
        assert value not in out
        assert b64(value) not in out


@SETTINGS
@given(
    tree=benign_tree, value=secret_value, path=st.lists(st.integers(0, 10), max_size=5), as_json=st.booleans()
)
def test_secret_env_values_planted_anywhere_never_survive(
    tree: Any, value: str, path: list[int], as_json: bool
) -> None:
    container = {
        "name": "c",
        "env": [{"name": "LOG", "value": "info"}, {"name": "DB_PASSWORD", "value": value}],
    }
    out = PLACEHOLDER_RE.sub("", REDACTOR.redact(s.raw(dump(plant(tree, container, path), as_json))).stdout)
    assert value not in out


credential = st.sampled_from(
    [
        s.JWT,
        s.PEM,
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "xoxb-1234567890-abcdefghij",
        "sk_live_" + "x9" * 10,
    ]
)


@SETTINGS
@given(
    before=st.lists(st.sampled_from(BENIGN_WORDS), max_size=8),
    after=st.lists(st.sampled_from(BENIGN_WORDS), max_size=8),
    secret=credential,
    encode=st.booleans(),
)
def test_credentials_in_free_text_never_survive_raw_or_base64(
    before: list[str], after: list[str], secret: str, encode: bool
) -> None:
    planted = b64(secret) if encode else secret
    text = " ".join([*before, planted, *after]) + "\n"
    out = REDACTOR.redact(s.raw(text), known_secrets=()).stdout
    core = secret.strip().splitlines()[1] if secret.startswith("-----") else secret
    assert planted not in out
    assert core not in out


@SETTINGS
@given(
    words=st.lists(st.sampled_from(BENIGN_WORDS), max_size=12),
    secret=secret_value,
    prefix=st.text(alphabet="abc", max_size=2),
)
def test_known_secrets_never_survive_raw_or_base64_at_any_alignment(
    words: list[str], secret: str, prefix: str
) -> None:
    text = " ".join([*words, secret, b64(prefix + secret + "!"), *words]) + "\n"
    out, _counts = REDACTOR.redact_text(text, known_secrets=[secret])
    out = PLACEHOLDER_RE.sub("", out)
    assert secret not in out
    encoded = b64(prefix + secret + "!")
    stable = encoded[(len(prefix) * 8 + 5) // 6 : ((len(prefix) + len(secret)) * 8) // 6]
    assert len(stable) < 8 or stable not in out


@SETTINGS
@given(text=st.text(max_size=300))
def test_redaction_of_any_text_is_idempotent(text: str) -> None:
    once = REDACTOR.redact(s.raw(text)).stdout
    assert REDACTOR.redact(s.raw(once)).stdout == once


@SETTINGS
@given(tree=benign_tree, values=st.lists(secret_value, min_size=1, max_size=3), as_json=st.booleans())
def test_redaction_of_documents_is_idempotent(tree: Any, values: list[str], as_json: bool) -> None:
    secret = {"kind": "Secret", "data": {f"k{i}": b64(v) for i, v in enumerate(values)}, "extra": tree}
    once = REDACTOR.redact(s.raw(dump(secret, as_json))).stdout
    again = REDACTOR.redact(s.raw(once))
    assert again.stdout == once
    assert again.redaction_count == 0


@SETTINGS
@given(tree=benign_tree, as_json=st.booleans())
def test_benign_documents_come_back_byte_identical(tree: Any, as_json: bool) -> None:
    text = dump({"apiVersion": "v1", "kind": "ConfigMap", "data": tree}, as_json)
    assert REDACTOR.redact(s.raw(text)).stdout == text


@SETTINGS
@given(lines=st.lists(st.lists(st.sampled_from(BENIGN_WORDS), min_size=1, max_size=8), max_size=10))
def test_benign_tables_come_back_byte_identical(lines: list[list[str]]) -> None:
    text = "".join("   ".join(words) + "\n" for words in lines)
    assert REDACTOR.redact(s.raw(text)).stdout == text
