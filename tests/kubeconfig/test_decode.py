"""Base64 decoding with size caps, and UTF-8 checks."""

from __future__ import annotations

import base64

import pytest

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig.decode import decode_base64, decode_text, encoded_limit

RAW = bytes(range(256)) * 4  # every byte value, so both alphabets' special characters appear


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode(),
        base64.b64encode(RAW).decode().rstrip("="),
        base64.encodebytes(RAW).decode(),  # 76-column lines
        "  " + "\r\n".join(base64.b64encode(RAW).decode()[i : i + 64] for i in range(0, 1368, 64)) + "\n\n",
    ],
)
def test_standard_and_url_safe_base64_with_whitespace_and_no_padding_decode(encoded: str) -> None:
    assert decode_base64(encoded, 4096) == RAW


@pytest.mark.parametrize("encoded", ["a", "abcde", "ab$d", "ab=d", "ab cd e", "é", "QQ===A"])
def test_text_that_is_not_base64_is_refused_with_the_how_to_message(encoded: str) -> None:
    with pytest.raises(KubeconfigError, match=r"base64 -w0 ~/.kube/config") as caught:
        decode_base64(encoded, 4096)
    assert caught.value.code == "invalid_kubeconfig"


def test_encoded_text_over_the_cap_is_refused_before_decoding() -> None:
    with pytest.raises(KubeconfigError, match="larger than 100 bytes"):
        decode_base64("A" * (encoded_limit(100) + 1), 100)


def test_decoded_bytes_over_the_cap_are_refused() -> None:
    with pytest.raises(KubeconfigError, match="larger than 100 bytes"):
        decode_base64(base64.b64encode(b"x" * 101).decode(), 100)


def test_line_wrapped_base64_of_a_file_at_the_cap_still_fits_the_encoded_limit() -> None:
    encoded = base64.encodebytes(b"x" * 1000).decode().replace("\n", "\r\n")
    assert decode_base64(encoded, 1000) == b"x" * 1000


def test_invalid_utf8_is_refused_and_a_byte_order_mark_is_dropped() -> None:
    with pytest.raises(KubeconfigError, match="not UTF-8"):
        decode_text(b"kind: \xc3\x28", 100)
    assert decode_text("\ufeffkind: Config".encode(), 100) == "kind: Config"
