"""The request path both transports share, written once: who is calling, their rate limit, their
policy, admission, the pipeline and its audit records.

The REST route and the MCP tool call only translate: they build a `CommandRequest` and turn the
`Completed` result (or the `ProxyError`) into their own wire format.
"""

from __future__ import annotations

import time
from dataclasses import replace

from k8s_mcp_server.api import requestlog
from k8s_mcp_server.api.models import ToolResponse
from k8s_mcp_server.api.policies import TrackedPolicy
from k8s_mcp_server.api.ratelimit import bucket_key
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.identity.callers import at_cluster, identify
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.pipeline import Completed


async def authenticate(state: AppState, authorization: str | None, request: CommandRequest) -> ApiKey | None:
    """The caller's key (None: anonymous on loopback); a refusal is audited once, then raised."""
    started = time.perf_counter()
    try:
        return await identify(state.oauth, state.authenticator, authorization, request.source_ip)
    except ProxyError as exc:
        await state.audit_rejection(request, exc)
        if request.tool:  # a tool call (service endpoints authenticate too)
            requestlog.refused(request, exc, time.perf_counter() - started)
        raise


def policy_for(state: AppState, key: ApiKey | None) -> TrackedPolicy:
    """The policy the caller's key names, or the default (raises `policy_unavailable`)."""
    return state.policies.for_key(key)


async def run_tool(
    state: AppState, request: CommandRequest, key: ApiKey | None, kubeconfig_b64: str | None
) -> Completed:
    """Rate limit, policy selection, then the pipeline (admission, audit, execute, redact).

    `request` comes from an authenticated caller (`key`); every refusal is audited exactly once.
    """
    if key is not None:
        request = replace(request, principal=key.principal)
    started = time.perf_counter()
    try:
        await state.limiter.acheck(bucket_key(request.principal, request.source_ip, anonymous=key is None))
        policies = policy_for(state, key)
        request, server_kubeconfig = at_cluster(state, request, key, kubeconfig_b64)
    except ProxyError as exc:
        await state.audit_rejection(request, exc)
        requestlog.refused(request, exc, time.perf_counter() - started)
        raise
    state.metrics.in_flight.inc()
    try:
        done = await state.pipeline.run(
            request, kubeconfig_b64, policies=policies, kubeconfig=server_kubeconfig
        )
    except ProxyError as exc:
        requestlog.refused(request, exc, time.perf_counter() - started)
        raise
    finally:
        state.metrics.in_flight.dec()
        state.metrics.stage("total", time.perf_counter() - started)
    requestlog.ran(request, done, time.perf_counter() - started)
    return done


def tool_response(done: Completed, request_id: str) -> ToolResponse:
    """The REST body of a command that ran (any exit code); MCP's structured result is built from it."""
    out = done.output
    return ToolResponse(
        success=out.exit_code == 0 and not out.timed_out,
        output=out.stdout,
        error=out.stderr or None,
        exit_code=out.exit_code,
        request_id=request_id,
        redactions=out.redaction_count,
        truncated=out.truncated,
        timed_out=out.timed_out,
        duration_ms=round(out.duration_ms, 3),
        warnings=list(done.warnings),
    )
