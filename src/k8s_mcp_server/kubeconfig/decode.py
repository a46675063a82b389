"""Turn the caller's base64 text into kubeconfig text, with size caps before any work is done."""

from __future__ import annotations

import base64
import binascii
import re

from k8s_mcp_server.errors import KubeconfigError

NOT_BASE64 = (
    "the kubeconfig is not valid base64: send the file's bytes base64-encoded (base64 -w0 ~/.kube/config)"
)
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_ALPHABET = re.compile(r"[A-Za-z0-9+/_-]*")
_URLSAFE = str.maketrans("-_", "+/")


def encoded_limit(max_bytes: int) -> int:
    """The longest encoded text accepted for `max_bytes` decoded: 4/3, plus room for line breaks."""
    return (max_bytes + 2) // 3 * 4 + max_bytes // 8 + 64


def decode_base64(encoded: str, max_bytes: int) -> bytes:
    """Decode standard or URL-safe base64; whitespace anywhere and missing padding are tolerated."""
    if len(encoded) > encoded_limit(max_bytes):
        raise KubeconfigError(too_large(max_bytes))
    compact = _WHITESPACE.sub("", encoded).rstrip("=")
    if not compact:
        raise KubeconfigError("the kubeconfig is empty: send the file's bytes base64-encoded")
    if not _ALPHABET.fullmatch(compact) or len(compact) % 4 == 1:
        raise KubeconfigError(NOT_BASE64)
    padded = compact.translate(_URLSAFE) + "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(NOT_BASE64) from None
    if len(data) > max_bytes:
        raise KubeconfigError(too_large(max_bytes))
    return data


def decode_text(data: bytes, max_bytes: int) -> str:
    """The kubeconfig bytes as text: UTF-8 (a leading byte-order mark is dropped), at most `max_bytes`."""
    if len(data) > max_bytes:
        raise KubeconfigError(too_large(max_bytes))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KubeconfigError(
            f"the kubeconfig is not UTF-8 text (bad byte at offset {exc.start}): send the kubeconfig "
            "file itself, base64-encoded once"
        ) from None
    return text.removeprefix("\ufeff")


def too_large(max_bytes: int) -> str:
    return (
        f"the kubeconfig is larger than {max_bytes} bytes: send only the context you need "
        "(k8s-mcp-server kubeconfig export --base64, or kubectl config view --minify --flatten --raw)"
    )
