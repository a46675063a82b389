"""Collect every problem in a kubeconfig, then fail once with all of them and the right code."""

from __future__ import annotations

from typing import NoReturn

from k8s_mcp_server.errors import KubeconfigError

INVALID = "invalid_kubeconfig"
UNSAFE = "unsafe_kubeconfig"
_SHOWN = 10


class Problems:
    """Messages found so far; `unsafe_kubeconfig` wins over `invalid_kubeconfig` when both occur."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []

    def invalid(self, message: str) -> None:
        self._items.append((INVALID, message))

    def unsafe(self, message: str) -> None:
        self._items.append((UNSAFE, message))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            self.fail()

    def fail(self) -> NoReturn:
        codes = {code for code, _ in self._items}
        code = UNSAFE if UNSAFE in codes else INVALID
        messages = [message for _, message in self._items]
        text = "; ".join(messages[:_SHOWN])
        if len(messages) > _SHOWN:
            text += f"; and {len(messages) - _SHOWN} more"
        raise KubeconfigError(text, code=code)


def show(value: str) -> str:
    """A name from the kubeconfig, quoted and shortened, for use in a message."""
    return repr(value) if len(value) <= 60 else repr(value[:60] + "…")
