"""GET /livez, the chart's liveness probe: answered by the event loop alone, so a server whose loop
cannot run misses it, and answers again once it runs."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import start_server

pytestmark = pytest.mark.cluster

# The chart's livenessProbe timeoutSeconds: a loop that cannot answer within it counts as stuck.
PROBE_TIMEOUT = 3.0


def test_livez_answers_without_a_key_and_a_stopped_loop_misses_it(
    cluster: Cluster, standin_dir: Path, tmp_path: Path
) -> None:
    server = start_server(tmp_path, server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"))
    try:
        res = httpx.get(f"{server.url}/livez", timeout=PROBE_TIMEOUT)
        assert (res.status_code, res.json()) == (200, {"status": "ok"})
        server.process.send_signal(signal.SIGSTOP)  # nothing in the process runs: as a stuck event loop
        try:
            with pytest.raises(httpx.TimeoutException):
                httpx.get(f"{server.url}/livez", timeout=PROBE_TIMEOUT)
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert httpx.get(f"{server.url}/livez", timeout=30).status_code == 200
    finally:
        server.stop()
