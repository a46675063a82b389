"""Output redaction: RawOutput -> RedactedOutput. Structural first, patterns second.

Passes, in order, over stdout and stderr alike (stderr skips pass 2, which is about a template's own
output). A command with filters after `|` is redacted twice: the tool's stdout before the first filter
reads it (`ResponseRedaction.stage`), so a filter (`jq`, `grep`, ...) only ever sees redacted data and
nothing it computes, prints to stderr or returns as its exit code can carry a secret; then the result.

0. **Template dumps**: a failing jsonpath/go-template makes kubectl print the whole object it was given
   in Go syntax; that dump is cut (`template-dump`, redact/dumps.py).
1. **Structural** (YAML/JSON output). The output is cut into units (documents, List items); a unit that
   passes a cheap prefilter is composed with the C YAML loader and the secret values it holds are
   replaced in place by a quoted placeholder: Secret `data`/`stringData` (`secret-data`, `helm-release`,
   `docker-config`), kubeconfig user credentials (`kubeconfig-credential`), env values whose names look
   secret (`secret-env`), and the same inside the `last-applied-configuration` annotation. A unit that
   smells of secrets but does not parse keeps its keys and loses every value (`unparsed`).
2. **Command-aware.** Templates over secret-bearing kinds are refused by the policy unless they print
   only value-free fields (parse/templates.py); as a second line, a Secret read printed with any other
   template is over-redacted token by token (`secret-data`), and a template naming a secret-looking
   field, `env` or `..` over any kind too (`secret-field`).
3. **Request-bound**: each known secret (>= 8 chars) raw and in base64 (`known-secret`).
4. **Patterns** over all text: PEM private keys, JWTs, bearer/basic credentials, URL credentials, cloud
   and SaaS keys, keyword-value pairs, and base64 blobs that decode to any of those (`base64-secret`).

Placeholders are `[REDACTED:<rule>:<8 hex>]`, an HMAC-SHA256 prefix of the value under a key drawn at
random for each response (`Redactor.start`): equal values of one response look equal, nothing else can be
learnt from them, and no two responses can be laid side by side as a codebook. They match no rule, so
redaction is idempotent. Output with nothing to redact comes back byte-identical.

`secrets="allow"` (the policy lets the caller read Secret values) turns off the Secret parts of passes 1
and 2 only. Kubeconfig credentials, secret-looking env values, known secrets and every pattern still
apply, inside Secret data too: a PEM private key or a token is redacted wherever it appears, so `allow`
shows ordinary Secret values but never credentials of those shapes.
"""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Sequence
from types import MappingProxyType

from ..contracts import ParsedCommand, RawOutput, RedactedOutput, SecretsMode
from .command import must_over_redact, prints_risky_fields, reads_secrets
from .describe import redact_describe_data
from .dumps import drop_template_dumps
from .fallback import redact_tokens, redact_values
from .placeholder import Placeholders
from .spans import Span, apply_spans
from .structural import UnparsableError, needs_parse, unit_spans
from .textpass import apply_text_spans, find_spans
from .units import documents, json_items, output_kind, yaml_items

__all__ = ["Redactor", "ResponseRedaction"]

# libyaml's composer takes ~quadratic time in the size of one unit (0.2 s at 170 kB, 1.8 s at 680 kB);
# kubectl's units are List items (a few kB), so a larger one (compact JSON, one huge object) that holds
# something to redact is over-redacted line by line, which is linear, instead of parsed.
MAX_COMPOSE_CHARS = 256 * 1024


class Redactor:
    """Redacts command output. Pure: no I/O, safe to share.

    Each response gets placeholders under a fresh random key (`start()`), so a placeholder says only
    "equal to another placeholder of this response": nothing to test guesses against and no codebook
    across responses. (The audit log has its own flag pass, audit/secrets.py, and the same pattern rules,
    redact/rules/*.yaml.)
    """

    def start(self) -> ResponseRedaction:
        """The redaction of one response: its placeholders and counts, across the tool and its filters."""
        return ResponseRedaction(Placeholders(secrets_module.token_bytes(32)))

    def redact(
        self,
        raw: RawOutput,
        *,
        secrets: SecretsMode = "redact",
        known_secrets: Sequence[str] = (),
        parsed: ParsedCommand | None = None,
    ) -> RedactedOutput:
        """Redact one response (all passes over stdout and stderr) with placeholders of its own."""
        return self.start().finish(raw, secrets=secrets, known_secrets=known_secrets, parsed=parsed)

    def redact_text(self, text: str, *, known_secrets: Sequence[str] = ()) -> tuple[str, dict[str, int]]:
        """Known secrets and pattern rules only, over plain text, as one response. Text and counts."""
        counts: dict[str, int] = {}
        ph = Placeholders(secrets_module.token_bytes(32))
        return _text(text, ph, known_secrets, counts, yaml_mode=False), counts


class ResponseRedaction:
    """One response's redaction: what the tool printed before its filters read it, then the result."""

    def __init__(self, ph: Placeholders) -> None:
        self._ph = ph
        self.counts: dict[str, int] = {}

    def stage(
        self,
        stdout: bytes,
        *,
        secrets: SecretsMode = "redact",
        known_secrets: Sequence[str] = (),
        parsed: ParsedCommand | None = None,
    ) -> bytes:
        """The tool's stdout as its filters may read it: every stdout pass applied."""
        text = self._stdout(stdout.decode("utf-8", errors="replace"), secrets, known_secrets, parsed)
        return text.encode("utf-8")

    def finish(
        self,
        raw: RawOutput,
        *,
        secrets: SecretsMode = "redact",
        known_secrets: Sequence[str] = (),
        parsed: ParsedCommand | None = None,
    ) -> RedactedOutput:
        """Redact stdout and stderr alike (structural, command-aware, known secrets, patterns)."""
        stdout = self._stdout(raw.stdout.decode("utf-8", errors="replace"), secrets, known_secrets, parsed)
        # no command-aware pass on stderr (parsed=None): that pass is about the template's own output
        stderr = self._stdout(raw.stderr.decode("utf-8", errors="replace"), secrets, known_secrets, None)
        return RedactedOutput(
            stdout=stdout,
            stderr=stderr,
            exit_code=raw.exit_code,
            duration_ms=raw.duration_ms,
            output_bytes=len(raw.stdout) + len(raw.stderr),
            truncated=raw.truncated,
            timed_out=raw.timed_out,
            redactions=MappingProxyType(dict(sorted(self.counts.items()))),
        )

    def _stdout(
        self, text: str, secrets: SecretsMode, known: Sequence[str], parsed: ParsedCommand | None
    ) -> str:
        counts, ph = self.counts, self._ph
        text = drop_template_dumps(text, counts)
        kind = output_kind(text)
        if kind != "text":
            text = _structural(text, kind, secrets, counts, ph)
        secret_read = reads_secrets(parsed)
        if secrets != "allow" and secret_read and parsed is not None and must_over_redact(parsed):
            text = redact_tokens(text, ph, counts, "secret-data")
        elif prints_risky_fields(parsed) and not (secrets == "allow" and secret_read):
            text = redact_tokens(text, ph, counts, "secret-field")
        else:
            text = redact_describe_data(text, ph, counts)
        return _text(text, ph, known, counts, yaml_mode=kind == "yaml")


def _text(
    text: str, ph: Placeholders, known: Sequence[str], counts: dict[str, int], *, yaml_mode: bool
) -> str:
    spans = find_spans(text, ph, known)
    return apply_text_spans(text, spans, counts, yaml_mode=yaml_mode) if spans else text


def _structural(text: str, kind: str, secrets: SecretsMode, counts: dict[str, int], ph: Placeholders) -> str:
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
                spans.extend(unit_spans(chunk, s, secrets=secrets, ph=ph))
            except UnparsableError:
                rewrites.append((s, e))
    for s, e in rewrites:
        local: dict[str, int] = {}
        replacement = redact_values(text[s:e], ph, local, "unparsed")
        spans.append(
            Span(start=s, end=e, rule="unparsed", replacement=replacement, tally=tuple(local.items()))
        )
    return apply_spans(text, spans, counts)
