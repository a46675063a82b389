"""API keys: the keys file (hashes only), a reloading store, and the `keys` CLI."""

from __future__ import annotations

from k8s_mcp_server.keys.cli import add_keys_commands, policy_file_for
from k8s_mcp_server.keys.file import ANONYMOUS, ApiKey, load_api_keys, parse_api_keys
from k8s_mcp_server.keys.store import KeyStore

__all__ = [
    "ANONYMOUS",
    "ApiKey",
    "KeyStore",
    "add_keys_commands",
    "load_api_keys",
    "parse_api_keys",
    "policy_file_for",
]
