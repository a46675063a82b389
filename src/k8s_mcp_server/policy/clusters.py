"""What the policy says about where and as whom a command runs, checked after the rules: its
`clusters:` allow-list (which of the server's named clusters its principals may use) and its
`identity_mode:` requirement (the cluster must see the caller itself, or the caller's kubeconfig).

```yaml
clusters: [dev, "staging-*"]     # absent: every named cluster; [] : none
identity_mode: impersonate       # any (default) | impersonate | caller-kubeconfig
```

It applies to requests that name a cluster (`cluster` in the REST body or MCP arguments); one the
list does not cover is denied by the built-in rule `builtin:clusters` (would-deny in dry-run mode),
audited like any denial. Which policy a principal gets (a key's `policy`, the identity map's
principal and group entries) is what makes this an allow-list per principal or group.
"""

from __future__ import annotations

from dataclasses import replace

from k8s_mcp_server.contracts import CommandRequest, Decision
from k8s_mcp_server.policy.model import CompiledPolicy

CLUSTERS = "builtin:clusters"
IDENTITY_MODE = "builtin:identity-mode"


def request_decision(policy: CompiledPolicy, request: CommandRequest, decision: Decision) -> Decision:
    """The rules' `decision`, unless the identity mode or the named cluster is one the policy refuses."""
    impersonated = request.identity is not None and request.identity.impersonated_user is not None
    wanted = policy.identity_mode
    if wanted != "any" and impersonated != (wanted == "impersonate"):
        how = "impersonating its callers" if impersonated else "with the caller's own kubeconfig"
        reason = (
            f"this policy requires identity_mode {wanted}, and this server runs commands {how}: "
            "ask the operator to set K8S_MCP_IDENTITY_MODE accordingly"
        )
        return _denied(policy, decision, IDENTITY_MODE, reason)
    return cluster_decision(policy, request.cluster, decision)


def cluster_decision(policy: CompiledPolicy, cluster: str | None, decision: Decision) -> Decision:
    """`decision`, unless the request's named cluster is off the policy's list (then a denial)."""
    allowed = policy.clusters_allow
    if cluster is None or allowed is None or allowed.match(cluster):
        return decision
    listed = ", ".join(allowed.patterns) or "none"
    reason = f"cluster '{cluster}' is not among the clusters this policy allows ({listed})"
    return _denied(policy, decision, CLUSTERS, reason)


def _denied(policy: CompiledPolicy, decision: Decision, rule: str, reason: str) -> Decision:
    if policy.mode == "dry-run":
        return replace(
            decision,
            outcome="would-deny" if decision.outcome == "allow" else decision.outcome,
            warnings=(*decision.warnings, f"dry-run: would be denied by {rule}: {reason}"),
        )
    return Decision(
        allowed=False,
        outcome="deny",
        rule=rule,
        reason=reason,
        policy_revision=policy.revision,
        secrets=decision.secrets,
        matched_rules=decision.matched_rules,
    )
