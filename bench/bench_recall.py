"""Redaction coverage on the shared secret samples, in every placement of tests/redact/placements.py.

Run: .venv/bin/python bench/bench_recall.py [--misses]
Reads ../shared/data/secrets/samples.yaml beside the repository. Prints, per placement and overall:
Secret data removed; self-identifying formats removed (prefix or structure: any placement); name-bound
values removed (under a secret-looking name); benign values changed (false positives, innocuous
placements); goldens byte-identical; and the samples missed, per provider (ids only, never values).
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the placements live in tests/redact/placements.py

from tests.redact.placements import (  # noqa: E402
    PLACEMENTS,
    SAMPLES,
    SELF_IDENTIFYING,
    golden_outcomes,
    samples,
    true_negative_outcomes,
    true_positive_outcomes,
)

from k8s_mcp_server.redact import Redactor  # noqa: E402


def pct(good: int, total: int) -> str:
    return f"{100 * good / total:5.1f}% ({good}/{total})" if total else "   -  "


def main() -> None:
    if samples() is None:
        print(f"no samples at {SAMPLES}: nothing measured")
        return
    show_misses = "--misses" in sys.argv
    redactor = Redactor()
    start = time.perf_counter()
    tps = list(true_positive_outcomes(redactor))
    tns = list(true_negative_outcomes(redactor))
    goldens = list(golden_outcomes(redactor))
    elapsed = time.perf_counter() - start
    secret_name = {p.name: p.secret_name for p in PLACEMENTS}
    secret_data = {p.name: p.secret_data for p in PLACEMENTS}
    print(f"{len(tps)} secret placements, {len(tns)} benign, {len(goldens)} goldens in {elapsed:.1f} s\n")
    heads = ("self-identifying", "name-bound (all)", "context-bound")
    print(f"{'placement':32} " + " ".join(f"{h:>22}" for h in heads) + f" {'benign changed':>18}")
    totals: Counter[str] = Counter()
    for placement in PLACEMENTS:
        mine = [o for o in tps if o.placement == placement.name]
        si = [o for o in mine if o.kind in SELF_IDENTIFYING]
        cb = [o for o in mine if o.kind == "context-bound"]
        fp = [o for o in tns if o.placement == placement.name]
        changed = sum(not o.removed for o in fp)
        row = [pct(sum(o.removed for o in si), len(si))]
        row.append(pct(sum(o.removed for o in mine), len(mine)) if placement.secret_name else "   -  ")
        row.append(pct(sum(o.removed for o in cb), len(cb)))
        row.append(pct(changed, len(fp)) if fp else "-")
        print(f"{placement.name:32} {row[0]:>22} {row[1]:>22} {row[2]:>22} {row[3]:>18}")
        if placement.secret_data:
            totals["data"] += sum(o.removed for o in mine)
            totals["data_n"] += len(mine)
            continue
        totals["si"] += sum(o.removed for o in si)
        totals["si_n"] += len(si)
        if placement.secret_name:
            totals["nb"] += sum(o.removed for o in mine)
            totals["nb_n"] += len(mine)
            totals["nbc"] += sum(o.removed for o in cb)
            totals["nbc_n"] += len(cb)
        totals["fp"] += changed
        totals["fp_n"] += len(fp)
    print()
    print(f"Secret data removed:                          {pct(totals['data'], totals['data_n'])}")
    print(f"self-identifying removed, every placement:    {pct(totals['si'], totals['si_n'])}")
    print(f"name-bound removed (all kinds, secret names): {pct(totals['nb'], totals['nb_n'])}")
    print(f"  of which context-bound samples:             {pct(totals['nbc'], totals['nbc_n'])}")
    print(f"benign values changed (false positives):      {pct(totals['fp'], totals['fp_n'])}")
    same = sum(ok for _, ok in goldens)
    print(f"goldens byte-identical:                       {pct(same, len(goldens))}")
    changed_goldens = [name for name, ok in goldens if not ok]
    if changed_goldens:
        print("  changed:", ", ".join(changed_goldens))
    misses: dict[str, set[str]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    for o in tps:
        expected = secret_data[o.placement] or o.kind in SELF_IDENTIFYING or secret_name[o.placement]
        if expected and not o.removed:
            misses[o.provider].add(o.sample)
            where[o.sample].add(o.placement)
    print(f"\nmissed where expected, per provider ({sum(map(len, misses.values()))} samples):")
    for provider, ids in sorted(misses.items()):
        detail = (
            "; ".join(f"{i} [{', '.join(sorted(where[i]))}]" for i in sorted(ids))
            if show_misses
            else ", ".join(sorted(ids))
        )
        print(f"  {provider}: {detail}")
    fps: dict[str, set[str]] = defaultdict(set)
    for o in tns:
        if not o.removed:
            fps[o.provider].add(f"{o.sample}@{o.placement}")
    print(f"\nfalse positives per category ({totals['fp']}):")
    for category, ids in sorted(fps.items()):
        print(f"  {category}: {', '.join(sorted(ids))}")


if __name__ == "__main__":
    main()
