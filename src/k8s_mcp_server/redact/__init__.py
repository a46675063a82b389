"""Output redaction: RawOutput -> RedactedOutput. Structural first, patterns second.

Passes, in order, over stdout (stderr gets passes 3 and 4 only):

1. **Structural** (YAML/JSON output). The output is cut into units (documents, List items); a unit that
   passes a cheap prefilter is composed with the C YAML loader and the secret values it holds are
   replaced in place by a quoted placeholder: Secret `data`/`stringData` (`secret-data`, `helm-release`,
   `docker-config`), kubeconfig user credentials (`kubeconfig-credential`), env values whose names look
   secret (`secret-env`), and the same inside the `last-applied-configuration` annotation. A unit that
   smells of secrets but does not parse keeps its keys and loses every value (`unparsed`).
2. **Command-aware.** When the command reads Secrets and prints them in a format the structural pass
   cannot see into (jsonpath, go-template, custom-columns, or YAML/JSON through a `|` filter), every
   token is replaced (`secret-data`) unless the requested fields are provably not values.
3. **Request-bound**: each known secret (>= 8 chars) raw and in base64 (`known-secret`).
4. **Patterns** over all text: PEM private keys, JWTs, bearer/basic credentials, URL credentials, cloud
   and SaaS keys, keyword-value pairs, and base64 blobs that decode to any of those (`base64-secret`).

Placeholders are `[REDACTED:<rule>:<8 hex>]`, an HMAC-SHA256 prefix of the value under the server key.
They match no rule, so redaction is idempotent. Output with nothing to redact comes back byte-identical.

`secrets="allow"` (the policy lets the caller read Secret values) turns off the Secret parts of passes 1
and 2 only. Kubeconfig credentials, secret-looking env values, known secrets and every pattern still
apply, inside Secret data too: a PEM private key or a token is redacted wherever it appears, so `allow`
shows ordinary Secret values but never credentials of those shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from ..contracts import ParsedCommand, RawOutput, RedactedOutput, SecretsMode
from .command import must_over_redact, prints_risky_fields, reads_secrets
from .describe import redact_describe_data
from .fallback import redact_tokens, redact_values
from .placeholder import Placeholders
from .spans import Span, apply_spans
from .structural import UnparsableError, needs_parse, unit_spans
from .textpass import apply_text_spans, find_spans
from .units import documents, json_items, output_kind, yaml_items

__all__ = ["Redactor"]

# libyaml's composer takes ~quadratic time in the size of one unit (0.2 s at 170 kB, 1.8 s at 680 kB);
# kubectl's units are List items (a few kB), so a larger one (compact JSON, one huge object) that holds
# something to redact is over-redacted line by line, which is linear, instead of parsed.
MAX_COMPOSE_CHARS = 256 * 1024


class Redactor:
    """Redacts command output with one per-server HMAC key. Pure: no I/O, safe to share."""

    def __init__(self, key: bytes) -> None:
        self._ph = Placeholders(key)

    def redact(
        self,
        raw: RawOutput,
        *,
        secrets: SecretsMode = "redact",
        known_secrets: Sequence[str] = (),
        parsed: ParsedCommand | None = None,
    ) -> RedactedOutput:
        """Redact stdout (all passes) and stderr (known secrets and patterns)."""
        counts: dict[str, int] = {}
        stdout = raw.stdout.decode("utf-8", errors="replace")
        stderr = raw.stderr.decode("utf-8", errors="replace")
        kind = output_kind(stdout)
        if kind != "text":
            stdout = self._structural(stdout, kind, secrets, counts)
        secret_read = reads_secrets(parsed)
        if secrets != "allow" and secret_read and parsed is not None and must_over_redact(parsed):
            stdout = redact_tokens(stdout, self._ph, counts, "secret-data")
        elif prints_risky_fields(parsed) and not (secrets == "allow" and secret_read):
            stdout = redact_tokens(stdout, self._ph, counts, "secret-field")
        else:
            stdout = redact_describe_data(stdout, self._ph, counts)
        stdout = self._text(stdout, known_secrets, counts, yaml_mode=kind == "yaml")
        stderr = self._text(stderr, known_secrets, counts, yaml_mode=False)
        return RedactedOutput(
            stdout=stdout,
            stderr=stderr,
            exit_code=raw.exit_code,
            duration_ms=raw.duration_ms,
            output_bytes=len(raw.stdout) + len(raw.stderr),
            truncated=raw.truncated,
            timed_out=raw.timed_out,
            redactions=MappingProxyType(dict(sorted(counts.items()))),
        )

    def redact_text(self, text: str, *, known_secrets: Sequence[str] = ()) -> tuple[str, dict[str, int]]:
        """Known secrets and pattern rules only (for command strings, log lines). Returns text and counts."""
        counts: dict[str, int] = {}
        return self._text(text, known_secrets, counts, yaml_mode=False), counts

    def _text(self, text: str, known: Sequence[str], counts: dict[str, int], *, yaml_mode: bool) -> str:
        spans = find_spans(text, self._ph, known)
        return apply_text_spans(text, spans, counts, yaml_mode=yaml_mode) if spans else text

    def _structural(self, text: str, kind: str, secrets: SecretsMode, counts: dict[str, int]) -> str:
        docs = [(0, len(text))] if kind == "json" else documents(text)
        spans: list[Span] = []
        rewrites: list[tuple[int, int]] = []
        for start, end in docs:
            split = (json_items if kind == "json" else yaml_items)(text, start, end)
            if split is not None and not any(needs_parse(text[s:e]) for s, e in split[1]):
                units = split[0]
            else:
                units = [(start, end)]
            for s, e in units:
                chunk = text[s:e]
                if not needs_parse(chunk):
                    continue
                if len(chunk) > MAX_COMPOSE_CHARS:  # composing is superlinear: over-redact instead
                    rewrites.append((s, e))
                    continue
                try:
                    spans.extend(unit_spans(chunk, s, secrets=secrets, ph=self._ph))
                except UnparsableError:
                    rewrites.append((s, e))
        for s, e in rewrites:
            local: dict[str, int] = {}
            replacement = redact_values(text[s:e], self._ph, local, "unparsed")
            spans.append(
                Span(start=s, end=e, rule="unparsed", replacement=replacement, tally=tuple(local.items()))
            )
        return apply_spans(text, spans, counts)
