"""The policy's `clusters:` allow-list: which of the server's named clusters its principals may use.

```yaml
clusters: [dev, "staging-*"]     # absent: every named cluster; [] : none
```

It applies to requests that name a cluster (`cluster` in the REST body or MCP arguments); one the
list does not cover is denied by the built-in rule `builtin:clusters` (would-deny in dry-run mode),
audited like any denial. Which policy a principal gets (a key's `policy`, the identity map's
principal and group entries) is what makes this an allow-list per principal or group.
"""

from __future__ import annotations

from dataclasses import replace

from k8s_mcp_server.contracts import Decision
from k8s_mcp_server.policy.model import CompiledPolicy

CLUSTERS = "builtin:clusters"


def cluster_decision(policy: CompiledPolicy, cluster: str | None, decision: Decision) -> Decision:
    """`decision`, unless the request's named cluster is off the policy's list (then a denial)."""
    allowed = policy.clusters_allow
    if cluster is None or allowed is None or allowed.match(cluster):
        return decision
    listed = ", ".join(allowed.patterns) or "none"
    reason = f"cluster '{cluster}' is not among the clusters this policy allows ({listed})"
    if policy.mode == "dry-run":
        return replace(
            decision,
            outcome="would-deny" if decision.outcome == "allow" else decision.outcome,
            warnings=(*decision.warnings, f"dry-run: would be denied by {CLUSTERS}: {reason}"),
        )
    return Decision(
        allowed=False,
        outcome="deny",
        rule=CLUSTERS,
        reason=reason,
        policy_revision=policy.revision,
        secrets=decision.secrets,
        matched_rules=decision.matched_rules,
    )
