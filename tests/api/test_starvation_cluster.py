"""Against the real server: hostile commands in flight do not starve other callers.

Twenty callers keep sending the slowest hostile commands bench/bench_fuzz.py found (the most words
and stages bashlex may read, the largest shapes, the looping class `'${'x` that used to hang the
event loop and grow memory without bound) while another caller measures `/health` and `get ns`.
All of them are refused after the whole shell layer has read them (decided commands would measure
kubectl's run time, not the parser's: `get 'a…8000'` runs kubectl for ~30 s).
Asserted without timing thresholds: every hostile request is answered, `/health` and `get ns` are
answered while the hostile requests are in flight, and the server's memory does not run away.
The medians, their ratios to the quiet medians and the server's RSS are printed (run with -s).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

CALLERS = 20
HOSTILE: list[tuple[str, str]] = [
    ("istioctl", "a " * 127 + "a"),  # 128 words: the most bashlex reads
    ("kubectl", "x " * 127 + "x"),
    ("argocd", "get " + "a " * 126 + "a"),
    ("kubectl", "get " + '"a"' * 2000),  # a shape past the cap after tokenizing 6000 characters
    ("kubectl", "get pods " + "' '' " * 1600),
    ("kubectl", "frob '" + "a" * 8180 + "'"),  # the longest single word (shlex reads it all)
    ("kubectl", "frob pods" + " | grep x" * 7),  # the most stages
    ("kubectl", "frob '${'x"),  # the looping class
    ("kubectl", "frob x'${'y'${'z"),
    ("istioctl", "'${a${a'a " * 8),
    ("helm", "get '" + "${" * 4000 + "'x"),
    ("kubectl", "get " + "a\\ " * 2700),
]
MEMORY_HEADROOM = 512 * 1024 * 1024  # the loop grew past 12 GB; a few MB of caches are normal


def rss(server: Server) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("starvation")
    srv = start_server(
        tmp, server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"), name="starve"
    )
    try:
        yield srv
    finally:
        srv.stop()


def _timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, int]:
    started = time.perf_counter()
    res = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started, res.status_code


def _probe(
    client: httpx.Client, server: Server, headers: dict[str, str], health: int, get_ns: int
) -> tuple[list[float], list[float]]:
    healths = []
    for _ in range(health):
        took, status = _timed(client, "GET", f"{server.url}/health")
        assert status == 200
        healths.append(took)
    gets = []
    for _ in range(get_ns):
        took, status = _timed(
            client, "POST", f"{server.url}/tools/kubectl", json={"command": "get ns -o name"}, headers=headers
        )
        assert status == 200
        gets.append(took)
    return healths, gets


def _under_load(
    client: httpx.Client, server: Server, headers: dict[str, str], commands: list[tuple[str, str]]
) -> tuple[list[float], list[float], list[int], int, int]:
    """Probe /health and get ns while CALLERS threads keep sending `commands`; returns the probe
    times, the hostile statuses, how many were answered while probing, and the peak RSS."""
    stop = threading.Event()
    answered: list[int] = []
    started = threading.Semaphore(0)
    errors: list[BaseException] = []

    def caller(index: int) -> None:
        tool, command = commands[index % len(commands)]
        try:
            with httpx.Client(timeout=120) as own:
                started.release()
                while not stop.is_set():
                    res = own.post(f"{server.url}/tools/{tool}", json={"command": command}, headers=headers)
                    answered.append(res.status_code)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(CALLERS)]
    for thread in threads:
        thread.start()
    for _ in threads:
        started.acquire()
    before = len(answered)
    peak = rss(server)
    healths: list[float] = []
    gets: list[float] = []
    for _ in range(3):  # interleaved, sampling memory between rounds
        h, g = _probe(client, server, headers, 8, 1)
        healths += h
        gets += g
        peak = max(peak, rss(server))
    during = len(answered) - before
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads), "a request was never answered"
    return healths, gets, answered, during, peak


def test_hostile_commands_in_flight_do_not_starve_health_or_other_callers(
    server: Server, cluster: Cluster
) -> None:
    headers = {"X-Kubeconfig": cluster.admin_b64()}
    with httpx.Client(timeout=300) as client:
        _probe(client, server, headers, 5, 2)  # warm: imports, caches, the kubeconfig
        quiet_health, quiet_get = _probe(client, server, headers, 30, 5)
        rss_quiet = rss(server)
        # the control: as many callers sending a trivially refused command
        control = _under_load(client, server, headers, [("kubectl", "get pods; id")])
        hostile = _under_load(client, server, headers, HOSTILE)
    _, _, answered, during, peak = hostile
    assert during > CALLERS, "the hostile callers were not in flight while measuring"
    assert set(answered) <= {400}, sorted(set(answered))  # all refused by the parser, none run
    assert max(peak, control[4]) < rss_quiet + MEMORY_HEADROOM

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1e3

    lines = [
        f"quiet: /health {ms(quiet_health):.2f} ms, get ns {ms(quiet_get):.1f} ms, "
        f"RSS {rss_quiet / 2**20:.1f} MiB"
    ]
    for name, (h, g, sent, while_probing, top) in (("control", control), ("hostile", hostile)):
        lines.append(
            f"{CALLERS} {name} callers ({len(sent)} answered, {while_probing} while probing): "
            f"/health {ms(h):.2f} ms ({ms(h) / ms(quiet_health):.2f}x), "
            f"get ns {ms(g):.1f} ms ({ms(g) / ms(quiet_get):.2f}x), peak RSS {top / 2**20:.1f} MiB"
        )
    print("\n" + "\n".join(lines))
