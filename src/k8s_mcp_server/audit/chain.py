"""The hash chain: canonical serialisation and the SHA-256 link between consecutive records.

hash = sha256(prev_hash + canonical JSON of the record without "hash"). The line written to the file
is the canonical JSON of the whole record, so a verifier can check both the content and the bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64  # prev_hash of the very first record of a chain
HASH_FIELDS = ("prev_hash", "hash")


def canonical_json(record: Mapping[str, Any]) -> str:
    """Serialise deterministically: sorted keys, compact separators, ASCII only, no NaN.

    ASCII escaping keeps lone surrogates and terminal control characters out of the file as raw bytes.
    """
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def compute_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    """The chain hash of `record` (its own "hash" key, if present, is left out)."""
    body = {key: value for key, value in record.items() if key != "hash"}
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(body).encode("ascii"))
    return digest.hexdigest()


def utc_timestamp(now: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp with microseconds and a "Z" suffix."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_hash(value: object) -> bool:
    """Whether `value` looks like a chain hash (64 lowercase hex digits)."""
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
