"""Identity settings that cannot work together stop the start, naming the setting to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from k8s_mcp_server.identity.jwks import metadata_urls, parse_jwks
from k8s_mcp_server.settings import Settings

OAUTH = {"oauth_resource": "https://mcp.example.com/mcp", "oauth_issuers": "https://idp.example.com"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oauth_algorithms": "RS256,HS256"}, "HS"),
        ({"oauth_algorithms": "none"}, "none"),
        ({"oauth_issuers": "http://idp.example.com"}, "https"),
        ({"oauth_resource": None}, "OAUTH_RESOURCE"),
        ({"oauth_issuers": ""}, "OAUTH_ISSUERS"),
        (
            {"oauth_issuers": "https://a.example,https://b.example", "oauth_jwks_file": "/x.json"},
            "exactly one",
        ),
        ({"identity_mode": "impersonate"}, "DEFAULT_KUBECONFIG"),
    ],
)
def test_settings_that_cannot_work_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{**OAUTH, **overrides})  # type: ignore[arg-type]


def test_impersonation_needs_authenticated_callers(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="authenticated callers"):
        Settings(identity_mode="impersonate", default_kubeconfig=tmp_path / "kubeconfig")


def test_a_loopback_http_issuer_is_accepted_for_local_testing() -> None:
    settings = Settings(oauth_resource="http://127.0.0.1:9096/mcp", oauth_issuers="http://127.0.0.1:8080")
    assert settings.oauth_issuers == ("http://127.0.0.1:8080",)


def test_discovery_tries_rfc_8414_then_openid_connect() -> None:
    assert metadata_urls("https://idp.example.com/tenant-1") == (
        "https://idp.example.com/.well-known/oauth-authorization-server/tenant-1",
        "https://idp.example.com/tenant-1/.well-known/openid-configuration",
    )


@pytest.mark.parametrize(
    "key",
    ['{"kty": "oct", "k": "c2VjcmV0"}', '{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}'],
)
def test_a_jwks_with_a_secret_or_private_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="secret or private"):
        parse_jwks(f'{{"keys": [{key}]}}'.encode(), "jwks.json")
