"""The allocator tuning applies on glibc (the machines this runs on) and is harmless elsewhere."""

from __future__ import annotations

import platform

from k8s_mcp_server.allocator import tune_allocator


def test_tuning_the_allocator_succeeds_on_glibc() -> None:
    applied = tune_allocator()
    assert applied is (platform.libc_ver()[0] == "glibc")
