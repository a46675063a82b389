"""Coverage on the shared secret samples in every placement of placements.py (issue 11's targets):
Secret data 100%, self-identifying formats and name-bound values at least 95%, at most 1% of benign values
changed, the 21 benign outputs byte-identical. bench/bench_recall.py prints the per-provider misses."""

from __future__ import annotations

import pytest

from k8s_mcp_server.redact import Redactor

from .placements import (
    PLACEMENTS,
    SAMPLES,
    SELF_IDENTIFYING,
    Outcome,
    golden_outcomes,
    samples,
    true_negative_outcomes,
    true_positive_outcomes,
)

pytestmark = pytest.mark.skipif(samples() is None, reason=f"no shared secret samples at {SAMPLES}")
_KIND = {p.name: p for p in PLACEMENTS}


@pytest.fixture(scope="module")
def positives() -> list[Outcome]:
    return list(true_positive_outcomes(Redactor()))


def _rate(outcomes: list[Outcome]) -> float:
    assert outcomes
    return sum(o.removed for o in outcomes) / len(outcomes)


def test_there_are_at_least_sixteen_kinds_of_placement() -> None:
    assert len(PLACEMENTS) >= 16


def test_secret_data_is_always_removed(positives: list[Outcome]) -> None:
    missed = [o.sample for o in positives if _KIND[o.placement].secret_data and not o.removed]
    assert missed == []


@pytest.mark.parametrize("placement", [p.name for p in PLACEMENTS if not p.secret_data])
def test_self_identifying_formats_are_removed_in_every_placement(
    positives: list[Outcome], placement: str
) -> None:
    mine = [o for o in positives if o.placement == placement and o.kind in SELF_IDENTIFYING]
    assert _rate(mine) >= 0.95


@pytest.mark.parametrize("placement", [p.name for p in PLACEMENTS if p.secret_name and not p.secret_data])
def test_values_under_secret_looking_names_are_removed(positives: list[Outcome], placement: str) -> None:
    mine = [o for o in positives if o.placement == placement]
    assert _rate(mine) >= 0.95


def test_at_most_one_percent_of_benign_values_change() -> None:
    outcomes = list(true_negative_outcomes(Redactor()))
    changed = [f"{o.sample}@{o.placement}" for o in outcomes if not o.removed]
    assert len(changed) <= len(outcomes) / 100, changed


def test_the_benign_outputs_come_back_byte_identical() -> None:
    assert [name for name, same in golden_outcomes(Redactor()) if not same] == []
