"""Known secrets (the request's credentials, the values of Secrets it could read) in every common
encoding, found with str.find for a few and with one Aho-Corasick pass for many."""

from __future__ import annotations

import base64
import secrets
import urllib.parse

import pytest

from k8s_mcp_server.redact import Redactor
from k8s_mcp_server.redact.textpass import known_secret_forms, known_secret_spans


def _encodings(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        raw.hex(),
        raw.hex().upper(),
        urllib.parse.quote(value, safe=""),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(b"x" + raw).decode(),
    ]


@pytest.mark.parametrize("count", [1, 200], ids=["few-find", "many-aho-corasick"])
def test_every_encoding_of_every_known_secret_is_redacted(redactor: Redactor, count: int) -> None:
    values = [f"pw/{secrets.token_urlsafe(12)}+{i}" for i in range(count)]
    picked = values[:: max(1, count // 10)]
    text = "".join(f"line {i}: {form}\n" for i, v in enumerate(picked) for form in _encodings(v))
    out, counts = redactor.redact_text(text, known_secrets=values)
    for value in picked:
        for form in _encodings(value):
            core = form.rstrip("=")[2:-2]  # base64 of an offset value: its stable middle
            assert core not in out, form
    assert counts["known-secret"] >= len(picked) * 5


def test_many_known_secrets_leave_other_text_alone(redactor: Redactor) -> None:
    values = [secrets.token_hex(16) for _ in range(500)]
    text = "NAME   READY   STATUS    RESTARTS   AGE\nweb-5d8f   1/1     Running   0          3d\n" * 50
    out, counts = redactor.redact_text(text, known_secrets=values)
    assert out == text and counts == {}


def test_the_forms_include_hex_and_url_encoding_and_skip_short_values() -> None:
    forms = known_secret_forms(["p@ss word!", "short"])
    assert b"p@ss word!".hex() in forms and "p%40ss%20word%21" in forms and "p%40ss+word%21" in forms
    assert not any("short" in f for f in forms)


def test_overlapping_forms_give_the_longest_match_once() -> None:
    value = "abcdefgh12345678"
    spans = known_secret_spans(
        "x" + value + "y", [value, value[:10], *[f"filler-{i:04d}" for i in range(40)]]
    )
    assert spans == [(1, 1 + len(value))]
