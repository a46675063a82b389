"""The identity map: which policy file applies to a token caller, by principal or by group.

```yaml
identities:
  - principal: alice@example.com     # a principal entry wins over any group entry
    policy: policies/alice.yaml
  - group: sre                       # groups: the first listed entry the caller is a member of
    policy: policies/operator-dev.yaml
```

A caller that no entry names gets the default policy. Relative paths are resolved against the
file's folder. The file is re-read within a second of a change; like the API keys file (and unlike
a policy file), a changed file that cannot be read or fails validation lets no token caller in until
it is fixed: the map grants policies, and a typo made while taking a grant away must not leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.watched import CHECK_INTERVAL, Polled, Signature, read_stable, signature

MAX_MAP_BYTES = 1024 * 1024


class IdentityMapUnavailable(ProxyError):
    code = "policy_unavailable"
    status = 503


@dataclass(frozen=True, kw_only=True)
class Mapping:
    principal: str | None
    group: str | None
    policy: Path


def parse_identity_map(data: bytes, *, source: Path) -> tuple[Mapping, ...]:
    """Validate the file's bytes; ValueError names the entry and what to fix."""
    if len(data) > MAX_MAP_BYTES:
        raise ValueError(f"{source}: the identity map is larger than {MAX_MAP_BYTES} bytes")
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{source}: not valid YAML{where}") from None
    entries = doc.get("identities") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) - {"identities"} or not isinstance(entries, list):
        raise ValueError(f"{source}: expected a mapping with only an `identities:` list")
    found: list[Mapping] = []
    for i, entry in enumerate(entries):
        where = f"{source}: identities[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"principal", "group", "policy"}:
            raise ValueError(f"{where}: expected `principal` or `group`, and `policy`")
        principal, group, policy = entry.get("principal"), entry.get("group"), entry.get("policy")
        if (principal is None) == (group is None):
            raise ValueError(f"{where}: name exactly one of `principal` and `group`")
        name = principal if principal is not None else group
        if not isinstance(name, str) or not name or len(name) > 256:
            raise ValueError(f"{where}: the principal or group must be a non-empty name")
        if not isinstance(policy, str) or not policy:
            raise ValueError(f"{where}: `policy` must be a policy file path")
        path = Path(policy)
        found.append(
            Mapping(
                principal=principal,
                group=group,
                policy=path if path.is_absolute() else source.parent / path,
            )
        )
    return tuple(found)


def policy_for(mappings: Sequence[Mapping], principal: str, groups: Sequence[str]) -> Path | None:
    """The policy file for this caller: its principal entry, else its first group entry, else None."""
    for entry in mappings:
        if entry.principal == principal:
            return entry.policy
    members = set(groups)
    for entry in mappings:
        if entry.group is not None and entry.group in members:
            return entry.policy
    return None


class IdentityMap(Polled):
    """The mappings in force; `policy_for()` is cheap and safe from any thread."""

    def __init__(self, path: Path, *, check_interval: float = CHECK_INTERVAL) -> None:
        """Load `path` now; OSError/ValueError stops the start."""
        super().__init__(path, check_interval=check_interval)
        self._signature: Signature | None = None
        self._mappings = self._read()
        self.loaded_at = datetime.now(UTC)

    def mappings(self) -> tuple[Mapping, ...]:
        self.poll()
        return self._mappings

    def policy_for(self, principal: str, groups: Sequence[str]) -> Path | None:
        """Raises IdentityMapUnavailable while the file is broken (no fallback to the default)."""
        mappings = self.mappings()
        if self.last_error is not None:
            raise IdentityMapUnavailable(
                "the server's identity map is not usable, so no policy can be chosen for your token: "
                "ask the operator to fix it"
            )
        return policy_for(mappings, principal, groups)

    def _refresh(self) -> None:
        try:
            if signature(self.path) == self._signature:
                return
            self._mappings = self._read()
        except (OSError, ValueError) as exc:
            self._mappings, self._signature = (), None
            self.last_error = (
                str(exc) if isinstance(exc, ValueError) else f"{self.path}: cannot read the identity map"
            ) + " (token callers are refused until the file is fixed)"
            return
        self.loaded_at = datetime.now(UTC)
        self.last_error = None

    def _read(self) -> tuple[Mapping, ...]:
        read = read_stable(self.path, MAX_MAP_BYTES)
        if read is None:
            raise ValueError(f"{self.path}: the identity map changed while it was read")
        data, self._signature = read
        return parse_identity_map(data, source=self.path)
