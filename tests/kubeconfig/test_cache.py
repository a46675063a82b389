"""The kubeconfig cache answers repeats from memory and never remembers a refusal."""

from __future__ import annotations

import base64

import pytest

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig import KubeconfigCache, KubeconfigPolicy

GOOD = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443"}}]
users: [{name: u, user: {token: tok-abcdef123456}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_same_kubeconfig_is_loaded_once() -> None:
    cache = KubeconfigCache(KubeconfigPolicy())
    first = cache.load(encode(GOOD))
    assert cache.load(encode(GOOD)) is first


def test_a_refused_kubeconfig_is_refused_every_time() -> None:
    cache = KubeconfigCache(KubeconfigPolicy())
    bad = encode(GOOD.replace("token: tok-abcdef123456", "tokenFile: /var/run/secrets/token"))
    for _ in range(2):
        with pytest.raises(KubeconfigError) as info:
            cache.load(bad)
        assert info.value.code == "unsafe_kubeconfig"


def test_the_cache_is_bounded() -> None:
    cache = KubeconfigCache(KubeconfigPolicy(), size=2)
    first = cache.load(encode(GOOD))
    cache.load(encode(GOOD.replace("tok-abcdef123456", "tok-second-000000")))
    cache.load(encode(GOOD.replace("tok-abcdef123456", "tok-third-0000000")))
    assert cache.load(encode(GOOD)) is not first
