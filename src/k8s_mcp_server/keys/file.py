"""The API keys file: SHA-256 hashes only, each naming a principal and optionally its own policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_HEX = frozenset("0123456789abcdef")
# A principal shows up in audit records, metrics labels and rate-limit buckets: keep it a plain name.
PRINCIPAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")
MAX_KEYS_FILE_BYTES = 1024 * 1024
ANONYMOUS = "anonymous"
# what a principal may do beside running commands under its policy: `approver` decides approvals
# (approvals/); `auditor` and `admin` are reserved for the console
ROLES = ("approver", "auditor", "admin")


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    principal: str
    sha256: bytes
    policy: Path | None = None
    roles: frozenset[str] = frozenset()


def valid_principal(name: str) -> bool:
    return bool(PRINCIPAL_PATTERN.match(name)) and name != ANONYMOUS


def parse_api_keys(data: bytes, *, source: Path) -> tuple[ApiKey, ...]:
    """Validate a keys file's bytes; ValueError names the entry and what to fix (never a key)."""
    if len(data) > MAX_KEYS_FILE_BYTES:
        raise ValueError(f"{source}: the keys file is larger than {MAX_KEYS_FILE_BYTES} bytes")
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{source}: not valid YAML{where}") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a mapping with a `keys:` list")
    keys: list[ApiKey] = []
    seen: set[bytes] = set()
    for i, entry in enumerate(entries):
        where = f"{source}: keys[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"principal", "sha256", "policy", "roles"}:
            raise ValueError(f"{where}: expected only `principal`, `sha256` and optional `policy`, `roles`")
        principal, digest = entry.get("principal"), str(entry.get("sha256", "")).lower()
        if not isinstance(principal, str) or not valid_principal(principal):
            raise ValueError(
                f"{where}: `principal` must be a name of letters, digits and . _ @ : - "
                f"(at most 128, not `{ANONYMOUS}`)"
            )
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(f"{where}: `sha256` must be 64 hex digits (sha256sum of the key)")
        raw = bytes.fromhex(digest)
        if raw in seen:
            raise ValueError(f"{where}: the same sha256 appears twice; one key names one principal")
        seen.add(raw)
        policy = entry.get("policy")
        if policy is not None and (not isinstance(policy, str) or not policy):
            raise ValueError(f"{where}: `policy` must be a file path")
        roles = entry.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) and r in ROLES for r in roles):
            raise ValueError(f"{where}: `roles` must be a list of {', '.join(ROLES)}")
        keys.append(
            ApiKey(principal=principal, sha256=raw, policy=_resolve(policy, source), roles=frozenset(roles))
        )
    return tuple(keys)


def load_api_keys(path: Path) -> tuple[ApiKey, ...]:
    """Read and validate the keys file; raises OSError or ValueError (fatal at start: fail closed)."""
    with path.open("rb") as fh:
        data = fh.read(MAX_KEYS_FILE_BYTES + 1)
    return parse_api_keys(data, source=path)


def _resolve(policy: str | None, source: Path) -> Path | None:
    """A relative policy path is relative to the keys file's folder, wherever the server starts."""
    if policy is None:
        return None
    path = Path(policy)
    return path if path.is_absolute() else source.parent / path
