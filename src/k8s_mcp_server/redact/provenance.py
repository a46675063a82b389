"""Provenance, the second line: the values of the Secrets a request's credentials can read, in the
namespaces its command touches, are known secrets of that response, scrubbed from every stream in
every common encoding whatever shape the output has (a password copied into a ConfigMap, an env
value under an innocuous name, an application log that prints it).

The values come from `kubectl get secrets -n NS -o json` run with the request's own kubeconfig (so
RBAC decides what can be scrubbed, and no caller learns anything about Secrets it cannot read),
started beside the command itself and awaited before its output is redacted. Bounded everywhere:

- cached per (credential, namespace) for `ttl` seconds, at most MAX_ENTRIES entries;
- at most MAX_NAMESPACES namespaces per command (`-A` reads every namespace in one call);
- at most MAX_VALUES values of MIN_VALUE..MAX_VALUE characters per read, the output capped by the
  executor like any other; a read that fails (Forbidden, timeout) gives nothing, cached for a short
  while so a caller without `list secrets` does not pay for the attempt every time.

Values that would redact ordinary words are left out: shorter than MIN_VALUE, or of one character
class only (`postgres`, `production`), the ServiceAccount token Secret's `namespace` and `ca.crt`
(public). Helm's release payloads are skipped (megabytes, gzipped; `helm get` output is redacted by
the structural pass and the rules).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..contracts import RawOutput

log = logging.getLogger(__name__)

MAX_ENTRIES = 256
MAX_NAMESPACES = 8
MAX_VALUES = 4096
MIN_VALUE = 10
MAX_VALUE = 4096
FAILED_TTL = 10.0
FETCH_TIMEOUT = 10.0
_SKIP_TYPES = frozenset({"helm.sh/release.v1"})
_SKIP_KEYS = {"kubernetes.io/service-account-token": frozenset({"namespace", "ca.crt"})}
# a token inside a multi-line value (a config file in a Secret): what follows `key:` / `key=`
_INNER = re.compile(r"[^\s\"',;:=]{10,4096}")
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^A-Za-z0-9]"))


class Runner(Protocol):
    """The executor's run(), as provenance uses it."""

    async def run(
        self,
        pipeline: Sequence[Sequence[str]],
        *,
        kubeconfig: bytes | None,
        timeout: float,
        cache_key: str | None = None,
        internal: bool = False,
    ) -> RawOutput: ...


def _looks_secret(value: str) -> bool:
    if not MIN_VALUE <= len(value) <= MAX_VALUE:
        return False
    return sum(1 for cls in _CLASSES if cls.search(value)) >= 2


def secret_values(listing: bytes) -> tuple[str, ...]:
    """The scrub-worthy values in `kubectl get secrets -o json` output (a List of Secrets)."""
    try:
        doc = json.loads(listing)
    except (ValueError, RecursionError):
        return ()
    items = doc.get("items", []) if isinstance(doc, dict) else []
    found: dict[str, None] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("type") in _SKIP_TYPES:
            continue
        skip = _SKIP_KEYS.get(str(item.get("type")), frozenset())
        data = item.get("data")
        for key, encoded in data.items() if isinstance(data, dict) else ():
            if key in skip or not isinstance(encoded, str) or len(encoded) > MAX_VALUE * 2:
                continue
            try:
                value = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue
            for candidate in _candidates(value):
                found[candidate] = None
                if len(found) >= MAX_VALUES:
                    return tuple(found)
    return tuple(found)


def _candidates(value: str) -> Iterable[str]:
    stripped = value.strip()
    if _looks_secret(stripped):
        yield stripped
    if "\n" in stripped or len(stripped) > 256:
        for match in _INNER.finditer(stripped):
            if _looks_secret(match.group()) and match.group() != stripped:
                yield match.group()


class SecretValues:
    """Per-credential, per-namespace cache of Secret values, filled with the request's kubeconfig."""

    def __init__(self, runner: Runner, *, ttl: float) -> None:
        self._runner = runner
        self._ttl = ttl
        self._entries: OrderedDict[tuple[str, str], tuple[float, tuple[str, ...]]] = OrderedDict()
        self._inflight: dict[tuple[str, str], asyncio.Future[tuple[str, ...]]] = {}

    async def values(
        self, kubeconfig: bytes, namespaces: Sequence[str], cache_key: str | None
    ) -> tuple[str, ...]:
        """Every cached or freshly read value for `namespaces` ("*": all of them)."""
        credential = hashlib.sha256(kubeconfig).hexdigest()
        wanted = ("*",) if "*" in namespaces else tuple(dict.fromkeys(namespaces))[:MAX_NAMESPACES]
        results = await asyncio.gather(*(self._one(credential, ns, kubeconfig, cache_key) for ns in wanted))
        merged: dict[str, None] = {}
        for values in results:
            merged.update(dict.fromkeys(values))
        return tuple(merged)

    async def _one(
        self, credential: str, namespace: str, kubeconfig: bytes, cache_key: str | None
    ) -> tuple[str, ...]:
        key = (credential, namespace)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            self._entries.move_to_end(key)
            return entry[1]
        pending = self._inflight.get(key)
        if pending is not None:  # the same read already under way for another request
            return await asyncio.shield(pending)
        future: asyncio.Future[tuple[str, ...]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            values, ok = await self._read(namespace, kubeconfig, cache_key)
            self._store(key, values, time.monotonic() + (self._ttl if ok else FAILED_TTL))
            future.set_result(values)
            return values
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._inflight[key]

    async def _read(
        self, namespace: str, kubeconfig: bytes, cache_key: str | None
    ) -> tuple[tuple[str, ...], bool]:
        where = ["-A"] if namespace == "*" else ["-n", namespace]
        # helm's release payloads are left on the server (megabytes each, and skipped anyway)
        argv = [
            "kubectl",
            "get",
            "secrets",
            *where,
            "--field-selector=type!=helm.sh/release.v1",
            "-o",
            "json",
        ]
        try:
            raw = await self._runner.run(
                [argv], kubeconfig=kubeconfig, timeout=FETCH_TIMEOUT, cache_key=cache_key, internal=True
            )
        except Exception as exc:
            log.warning("provenance: reading Secret values failed (%s)", type(exc).__name__)
            return (), False
        if raw.exit_code != 0 or raw.timed_out or raw.truncated:
            return (), False
        if len(raw.stdout) > 256 * 1024:
            return await asyncio.to_thread(secret_values, raw.stdout), True
        return secret_values(raw.stdout), True

    def _store(self, key: tuple[str, str], values: tuple[str, ...], until: float) -> None:
        self._entries[key] = (until, values)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
