"""Places per caller and in total, a bounded wait for one, and busy with a Retry-After."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from k8s_mcp_server.errors import Busy
from k8s_mcp_server.execute.admission import SERVER_CALLER, Admission, caller_key

# Waits in these tests are bounds on how long a refusal may take, never measured.
SHORT_WAIT = 0.05
LONG_WAIT = 30.0


async def hold(admission: Admission, caller: str, release: asyncio.Event, held: asyncio.Event) -> None:
    async with admission.place(caller):
        held.set()
        await release.wait()


async def take(
    admission: Admission, caller: str, count: int
) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    """`count` places held by `caller` until the returned event is set."""
    release = asyncio.Event()
    tasks = []
    for _ in range(count):
        held = asyncio.Event()
        tasks.append(asyncio.ensure_future(hold(admission, caller, release, held)))
        await held.wait()
    return release, tasks


def test_anonymous_callers_are_told_apart_by_address_and_never_pose_as_a_principal() -> None:
    assert caller_key("anonymous", "127.0.0.1") != caller_key("anonymous", "127.0.0.2")
    assert caller_key("ci-bot", "127.0.0.1") == caller_key("ci-bot", "10.0.0.9")
    assert caller_key("anonymous", "127.0.0.1") != caller_key("anonymous@127.0.0.1", None)


async def test_a_caller_at_its_share_waits_then_gets_busy_while_others_still_get_places() -> None:
    admission = Admission(total=10, per_caller=2, wait_seconds=SHORT_WAIT)
    release, tasks = await take(admission, "greedy", 2)
    with pytest.raises(Busy) as info:
        async with admission.place("greedy"):
            pass
    assert info.value.status == 429 and info.value.code == "busy"
    assert info.value.retry_after == 1
    assert "K8S_MCP_MAX_PER_CALLER" in info.value.message
    async with admission.place("other"):  # another caller is not held up
        assert admission.held("other") == 1
    release.set()
    await asyncio.gather(*tasks)
    assert admission.in_use == 0


async def test_a_waiting_request_gets_the_place_its_caller_frees() -> None:
    admission = Admission(total=10, per_caller=1, wait_seconds=LONG_WAIT)
    release, tasks = await take(admission, "a", 1)
    waiting = asyncio.ensure_future(admission.place("a").__aenter__())
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    await asyncio.gather(*tasks)
    await waiting  # granted, not refused
    assert admission.held("a") == 1


async def test_when_the_server_is_full_a_request_waits_for_any_place_then_busy_names_the_total() -> None:
    admission = Admission(total=2, per_caller=2, wait_seconds=SHORT_WAIT)
    release, tasks = await take(admission, "a", 2)
    with pytest.raises(Busy) as info:
        async with admission.place("b"):
            pass
    assert "K8S_MCP_MAX_CONCURRENCY" in info.value.message
    release.set()
    await asyncio.gather(*tasks)


async def test_a_freed_place_goes_to_the_first_waiter_that_may_take_it_not_to_a_caller_at_its_share() -> None:
    admission = Admission(total=3, per_caller=2, wait_seconds=LONG_WAIT)
    release_a, held_a = await take(admission, "a", 2)
    release_b, held_b = await take(admission, "b", 1)
    order: list[str] = []

    async def wait_for(caller: str) -> None:
        async with admission.place(caller):
            order.append(caller)

    a_waits = asyncio.ensure_future(wait_for("a"))  # first in line, but "a" is at its share
    await asyncio.sleep(0)
    c_waits = asyncio.ensure_future(wait_for("c"))
    await asyncio.sleep(0)
    release_b.set()  # frees one place: "c" may take it, "a" may not
    await asyncio.gather(*held_b)
    await c_waits
    assert order == ["c"]
    release_a.set()
    await asyncio.gather(*held_a, a_waits)
    assert order == ["c", "a"]


async def test_waiting_is_bounded_too_past_a_callers_share_of_waiters_busy_comes_at_once() -> None:
    admission = Admission(total=10, per_caller=1, wait_seconds=LONG_WAIT)
    release, tasks = await take(admission, "a", 1)
    waiter = asyncio.ensure_future(admission.place("a").__aenter__())
    await asyncio.sleep(0)
    with pytest.raises(Busy):  # refused without waiting LONG_WAIT
        async with asyncio.timeout(LONG_WAIT / 2), admission.place("a"):
            pass
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    release.set()
    await asyncio.gather(*tasks)
    assert admission.in_use == 0


async def test_a_cancelled_waiter_leaves_no_place_taken() -> None:
    admission = Admission(total=1, per_caller=1, wait_seconds=LONG_WAIT)
    release, tasks = await take(admission, "a", 1)
    waiter = asyncio.ensure_future(admission.place("b").__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    release.set()
    await asyncio.gather(*tasks)
    assert admission.in_use == 0 and admission.held("b") == 0
    async with admission.place("b"):
        pass


async def test_the_servers_own_runs_are_not_held_to_a_callers_share() -> None:
    admission = Admission(total=4, per_caller=1, wait_seconds=0)
    release, tasks = await take(admission, SERVER_CALLER, 4)  # one version probe per CLI at start-up
    assert admission.in_use == 4
    release.set()
    await asyncio.gather(*tasks)
