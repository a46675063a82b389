"""What an access token costs per request, from one run on this machine.

1. `TokenVerifier.verify` of a valid RS256 token with the issuer's keys cached (the steady state):
   median per call, against PyJWT's own `jwt.decode` of the same token with the same key (the
   baseline: what any resource server must pay for the signature and claims).
2. The first token after a rotation: the JWKS re-fetch from a loopback issuer (discovery done).

Run: .venv/bin/python bench/bench_identity.py [--n N]
Target: steady-state verification <= 2x the baseline, and well under 1 ms (inline on the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx
import jwt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.issuer import running_issuer

from k8s_mcp_server.identity.jwks import DiscoveredKeys
from k8s_mcp_server.identity.tokens import TokenVerifier

AUDIENCE = "http://127.0.0.1:9096/mcp"


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def main(n: int) -> None:
    with running_issuer() as issuer:
        token = issuer.token("alice", audience=AUDIENCE, groups=["dev"], azp="agent")
        public = issuer.key.private.public_key()
        async with httpx.AsyncClient() as client:
            keys = DiscoveredKeys(issuer.url, client, min_refetch=0.0)
            verifier = TokenVerifier(sources=[keys], audience=AUDIENCE, algorithms=("RS256",), leeway=30)
            await verifier.verify(token)  # discovery + first JWKS fetch
            ours, base = [], []
            for _ in range(n):
                t0 = time.perf_counter()
                await verifier.verify(token)
                t1 = time.perf_counter()
                jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE)
                t2 = time.perf_counter()
                ours.append(t1 - t0)
                base.append(t2 - t1)
            rotations = []
            for _ in range(20):
                issuer.rotate()
                fresh = issuer.token("alice", audience=AUDIENCE)
                t0 = time.perf_counter()
                await verifier.verify(fresh)
                rotations.append(time.perf_counter() - t0)
    print(f"verify (keys cached):      median {median_us(ours):7.1f} us   ({n} tokens)")
    print(f"jwt.decode baseline:       median {median_us(base):7.1f} us")
    print(f"ratio:                     {statistics.median(ours) / statistics.median(base):.2f}x")
    print(f"first token after rotation (JWKS re-fetch over loopback): median {median_us(rotations):.0f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
