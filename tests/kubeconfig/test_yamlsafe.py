"""The narrowed YAML loader: plain values only, no aliases, no duplicates, bounded size."""

from __future__ import annotations

import time

import pytest

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig.yamlsafe import MAX_DEPTH, load_yaml


def test_plain_scalars_are_strings_booleans_or_null_only() -> None:
    assert load_yaml("a: 1\nb: 1.5\nc: 2001-01-01\nd: true\ne: ~\nf: 0x1F\ng: no") == {
        "a": "1",
        "b": "1.5",
        "c": "2001-01-01",
        "d": True,
        "e": None,
        "f": "0x1F",
        "g": False,
    }


def test_json_is_read_as_yaml() -> None:
    assert load_yaml('{"a": ["b", true, null, {"c": "d"}]}') == {"a": ["b", True, None, {"c": "d"}]}


@pytest.mark.parametrize(
    "text",
    [
        "a: &x b",
        "a: *x",
        "a: 1\na: 2",
        '{"a": 1, "a": 2}',
        "? [a]\n: 1",
        "true: x",
        "a: !!int 3",
        "a: !!set {b}",
        "a: !custom x",
        "a: !!python/name:os.system x",
        "a: [\n",
        "a: b\n---\nc: d",
    ],
)
def test_unsafe_or_ambiguous_yaml_is_refused(text: str) -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_yaml(text)
    assert caught.value.code == "invalid_kubeconfig"


def test_nesting_deeper_than_the_limit_is_refused_and_just_under_it_loads() -> None:
    assert load_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(KubeconfigError, match="deeply nested"):
        load_yaml("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_too_many_nodes_are_refused_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(KubeconfigError, match="too large"):
        load_yaml("[" + ",".join(["a"] * 60_000) + "]")
    assert time.monotonic() - start < 5


def test_error_messages_give_the_position_but_not_the_text() -> None:
    with pytest.raises(KubeconfigError) as caught:
        load_yaml("users:\n- {token: canary-abc123]\n")
    assert "line 2" in caught.value.message
    assert "canary-abc123" not in caught.value.message


def test_text_that_cannot_be_utf8_encoded_is_refused() -> None:
    with pytest.raises(KubeconfigError):
        load_yaml("a: \ud800")


def test_the_worst_input_at_the_size_cap_parses_in_well_under_a_second() -> None:
    hostile = ["a: [" + ",".join(["b"] * 49_000) + "]", "\n".join(f"k{i}: v" for i in range(20_000))]
    for text in hostile:
        start = time.monotonic()
        load_yaml(text)
        assert time.monotonic() - start < 1.0
