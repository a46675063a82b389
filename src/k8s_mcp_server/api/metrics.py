"""Prometheus metrics, one CollectorRegistry per app (tests build many apps; no global registry)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from k8s_mcp_server.contracts import CommandRequest

CONTENT_TYPE = CONTENT_TYPE_LATEST
STAGES = ("kubeconfig", "parse", "policy", "audit", "execute", "redact", "total")
# Parse and policy take microseconds, kubectl against a remote API server seconds: cover both ends.
BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)


class Metrics:
    """The app's metrics; also the pipeline's Observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "k8s_mcp_requests",
            "Requests by tool, transport, decision (allow|deny|would-deny|rejected), rule and error code.",
            ["tool", "transport", "decision", "rule", "code"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "k8s_mcp_stage_duration_seconds",
            "Time spent per pipeline stage; `total` is the whole request as the REST handler saw it.",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.redaction_count = Counter(
            "k8s_mcp_redactions",
            "Values replaced by the redactor, by redaction rule.",
            ["rule"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "k8s_mcp_requests_in_flight", "Tool requests being handled now.", registry=self.registry
        )
        self.policy_reloads = Counter(
            "k8s_mcp_policy_reloads",
            "Policy files reloaded after a change (policy: `default` or the file a key names).",
            ["policy"],
            registry=self.registry,
        )
        self.policy_reload_failures = Counter(
            "k8s_mcp_policy_reload_failures",
            "Changed policy files rejected by validation (the last good policy stayed in force).",
            ["policy"],
            registry=self.registry,
        )
        # every stage shows up from the first scrape, at zero; children cached (labels() is the slow part)
        self._stages = {stage: self.stage_seconds.labels(stage=stage) for stage in STAGES}

    # Observer protocol (pipeline.Observer)
    def stage(self, name: str, seconds: float) -> None:
        child = self._stages.get(name)
        if child is None:
            child = self._stages[name] = self.stage_seconds.labels(stage=name)
        child.observe(seconds)

    def outcome(self, request: CommandRequest, decision: str, rule: str | None, code: str | None) -> None:
        self.requests.labels(
            tool=request.tool,
            transport=request.transport,
            decision=decision,
            rule=rule or "",
            code=code or "",
        ).inc()

    def redactions(self, counts: Mapping[str, int]) -> None:
        for rule, count in counts.items():
            if count:
                self.redaction_count.labels(rule=rule).inc(count)

    def policy_reloaded(self, name: str, ok: bool) -> None:
        (self.policy_reloads if ok else self.policy_reload_failures).labels(policy=name).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
