"""The resource server's own pieces: metadata location (RFC 9728) and what /health is told."""

from __future__ import annotations

from pathlib import Path

from k8s_mcp_server.identity.jwks import FileKeys
from k8s_mcp_server.identity.mapping import IdentityMap
from k8s_mcp_server.identity.oauth import OAuth, metadata_path
from k8s_mcp_server.identity.tokens import TokenVerifier

RESOURCE = "https://mcp.example.com/mcp"


def oauth(tmp_path: Path) -> tuple[OAuth, Path, Path]:
    jwks, identities = tmp_path / "jwks.json", tmp_path / "identities.yaml"
    jwks.write_text('{"keys": []}')
    identities.write_text("identities: []\n")
    keys = FileKeys("https://idp.example.com", jwks, check_interval=0)
    verifier = TokenVerifier(sources=[keys], audience=RESOURCE, algorithms=("RS256",), leeway=5)
    return (
        OAuth(resource=RESOURCE, verifier=verifier, identity_map=IdentityMap(identities, check_interval=0)),
        jwks,
        identities,
    )


def test_the_metadata_lives_at_the_well_known_path_inserted_before_the_resources_path() -> None:
    assert metadata_path(RESOURCE) == "/.well-known/oauth-protected-resource/mcp"
    assert metadata_path("https://mcp.example.com") == "/.well-known/oauth-protected-resource"


def test_the_metadata_names_the_resource_its_issuers_and_only_asymmetric_algorithms(tmp_path: Path) -> None:
    server, _, _ = oauth(tmp_path)
    doc = server.metadata()
    assert doc["resource"] == RESOURCE and doc["authorization_servers"] == ["https://idp.example.com"]
    assert server.metadata_url == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


def test_a_broken_identity_map_or_jwks_file_is_reported_for_health(tmp_path: Path) -> None:
    server, jwks, identities = oauth(tmp_path)
    assert server.problems() == []
    identities.write_text("identities: [{principal: a}]\n")
    jwks.write_text("not json")
    server.verifier.sources()[0].poll()  # type: ignore[attr-defined]
    problems = server.problems()
    assert any(p.startswith("identity map:") for p in problems)
    assert any(p.startswith("issuer https://idp.example.com:") for p in problems)
