"""Provenance values: which Secret values are scrubbed, and the bounded per-credential cache."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence

from k8s_mcp_server.contracts import RawOutput
from k8s_mcp_server.redact.provenance import MAX_VALUES, SecretValues, secret_values


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _listing(*items: dict[str, object]) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}).encode()


def _secret(data: dict[str, str], type_: str = "Opaque") -> dict[str, object]:
    return {"kind": "Secret", "type": type_, "data": {k: _b64(v) for k, v in data.items()}}


def test_values_that_look_secret_are_taken_and_ordinary_words_are_not() -> None:
    found = secret_values(
        _listing(
            _secret({"password": "Hunter2-Zq9x", "user": "postgres", "env": "production", "pin": "1234"})
        )
    )
    assert found == ("Hunter2-Zq9x",)


def test_tokens_inside_a_config_file_value_are_taken_too() -> None:
    config = "db:\n  host: db.internal\n  password: s3cr3t-Value-42\n"
    found = secret_values(_listing(_secret({"config.yaml": config})))
    assert "s3cr3t-Value-42" in found and "db.internal" in found


def test_service_account_namespace_and_ca_and_helm_releases_are_skipped() -> None:
    found = secret_values(
        _listing(
            _secret(
                {"token": "eyJhbGciOi.JSUzI1NiJ9.sig", "namespace": "team-a-prod1", "ca.crt": "-----BEGIN X"},
                "kubernetes.io/service-account-token",
            ),
            _secret({"release": "H4sIAAAAAAAA-release-1"}, "helm.sh/release.v1"),
        )
    )
    assert found == ("eyJhbGciOi.JSUzI1NiJ9.sig",)


def test_output_that_is_not_a_list_of_secrets_gives_nothing() -> None:
    for listing in (b"", b"not json", b"[1, 2]", b'{"items": "x"}', b'{"items": [{"data": {"k": "%%%"}}]}'):
        assert secret_values(listing) == ()


def test_the_number_of_values_is_capped() -> None:
    many = {f"k{i}": f"Value-{i:06d}-x" for i in range(MAX_VALUES + 50)}
    assert len(secret_values(_listing(_secret(many)))) == MAX_VALUES


class FakeRunner:
    def __init__(self, listing: bytes, exit_code: int = 0) -> None:
        self.listing = listing
        self.exit_code = exit_code
        self.calls: list[tuple[list[str], bytes | None, bool]] = []

    async def run(
        self,
        pipeline: Sequence[Sequence[str]],
        *,
        kubeconfig: bytes | None,
        timeout: float,
        cache_key: str | None = None,
        internal: bool = False,
    ) -> RawOutput:
        self.calls.append((list(pipeline[0]), kubeconfig, internal))
        await asyncio.sleep(0.01)
        return RawOutput(stdout=self.listing, stderr=b"", exit_code=self.exit_code, duration_ms=1.0)


async def test_reads_use_the_requests_kubeconfig_and_are_cached_per_credential_and_namespace() -> None:
    runner = FakeRunner(_listing(_secret({"password": "Hunter2-Zq9x"})))
    cache = SecretValues(runner, ttl=60)
    assert await cache.values(b"kubeconfig-a", ("dev",), None) == ("Hunter2-Zq9x",)
    await cache.values(b"kubeconfig-a", ("dev",), None)
    assert len(runner.calls) == 1  # cached
    argv, kubeconfig, internal = runner.calls[0]
    assert argv[:3] == ["kubectl", "get", "secrets"] and "-n" in argv and "dev" in argv
    assert kubeconfig == b"kubeconfig-a" and internal
    await cache.values(b"kubeconfig-b", ("dev",), None)  # another credential: its own read
    await cache.values(b"kubeconfig-a", ("prod",), None)  # another namespace: its own read
    assert len(runner.calls) == 3


async def test_concurrent_requests_share_one_read() -> None:
    runner = FakeRunner(_listing(_secret({"password": "Hunter2-Zq9x"})))
    cache = SecretValues(runner, ttl=60)
    results = await asyncio.gather(*(cache.values(b"k", ("dev",), None) for _ in range(10)))
    assert len(runner.calls) == 1 and all(r == ("Hunter2-Zq9x",) for r in results)


async def test_all_namespaces_is_one_read_and_a_refused_read_gives_nothing() -> None:
    runner = FakeRunner(b"Error from server (Forbidden)", exit_code=1)
    cache = SecretValues(runner, ttl=60)
    assert await cache.values(b"k", ("*",), None) == ()
    assert "-A" in runner.calls[0][0]
    await cache.values(b"k", ("*",), None)
    assert len(runner.calls) == 1  # the failure is remembered for a short while too
