"""Everything a request needs, built once per app from its settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from k8s_mcp_server.api.auth import Authenticator
from k8s_mcp_server.api.metrics import Metrics
from k8s_mcp_server.api.policies import PolicyRegistry
from k8s_mcp_server.api.ratelimit import RateLimiter
from k8s_mcp_server.api.refusals import audited
from k8s_mcp_server.api.transport import HostOriginGuard
from k8s_mcp_server.audit import rejected_record
from k8s_mcp_server.audit.refusals import AGGREGATED_CODES, RefusalAggregator
from k8s_mcp_server.contracts import TOOLS, CommandRequest
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.identity.clusters import ClusterRegistry
from k8s_mcp_server.identity.impersonate import Impersonator
from k8s_mcp_server.identity.oauth import OAuth
from k8s_mcp_server.parse.clispec import grammar_version, has_grammar
from k8s_mcp_server.pipeline import Pipeline

# `GET /tools/status` asks each CLI for its client version; a CLI that hangs must not hang the endpoint.
VERSION_PROBE_TIMEOUT = 5.0

_VERSION_ARGV = {
    "kubectl": ("kubectl", "version", "--client"),
    "helm": ("helm", "version", "--short"),
    "istioctl": ("istioctl", "version", "--remote=false"),
    "argocd": ("argocd", "version", "--client", "--short"),
}


@dataclass(kw_only=True)
class AppState:
    pipeline: Pipeline
    authenticator: Authenticator
    policies: PolicyRegistry
    metrics: Metrics
    limiter: RateLimiter
    guard: HostOriginGuard
    # floods of unauthenticated refusals, counted per source and interval (audit/refusals.py)
    refusals: RefusalAggregator | None = None
    oauth: OAuth | None = None  # access tokens beside API keys (identity/oauth.py)
    impersonator: Impersonator | None = None  # K8S_MCP_IDENTITY_MODE=impersonate (identity/impersonate.py)
    clusters: ClusterRegistry | None = None  # named clusters (K8S_MCP_CLUSTERS_FILE, identity/clusters.py)
    _versions: dict[str, Any] | None = None

    async def audit_rejection(self, request: CommandRequest, exc: ProxyError) -> None:
        """The one audit record of a request refused before the pipeline (auth, limits, Host/Origin).

        Refusals of nobody-let-in kinds (AGGREGATED_CODES: unauthenticated, forbidden host or origin,
        rate limited) past the first few per source and interval are counted in the aggregate instead,
        so a flood of them cannot fill the log (audit/refusals.py).
        Raises AuditUnavailable when the record cannot be written (the caller answers 503).
        """
        if (
            self.refusals is not None
            and exc.code in AGGREGATED_CODES
            and not self.refusals.individual(
                code=exc.code,
                transport=request.transport,
                source_ip=request.source_ip,
                principal=request.principal,
                tool=request.tool,
            )
        ):
            self.refusals.add(
                code=exc.code,
                reason=exc.message,
                transport=request.transport,
                source_ip=request.source_ip,
                principal=request.principal,
                tool=request.tool,
                status=exc.status,
                request_id=request.request_id,
            )
            audited()
            self.metrics.outcome(request, "rejected", None, exc.code)
            return
        audited()
        try:
            await self.pipeline.audit.awrite(rejected_record(request=request, error=exc))
        except ProxyError as failed:
            self.metrics.outcome(request, "rejected", None, failed.code)
            raise
        self.metrics.outcome(request, "rejected", None, exc.code)

    async def tool_versions(self) -> dict[str, Any]:
        """Which CLIs are installed and their client versions (cached: they do not change at run time)."""
        if self._versions is None:
            results = await asyncio.gather(*(self._probe(tool) for tool in TOOLS))
            self._versions = dict(zip(TOOLS, results, strict=True))
        return self._versions

    async def check_grammars(self) -> dict[str, str]:
        """At start-up: withhold every installed CLI whose version has no grammar here.

        The parser understands exactly the CLI versions its generated data describe (same major and
        minor version); a request for another version's CLI answers `tool_unavailable` with what to
        install, instead of being parsed with the wrong command tree. Returns {tool: reason}.
        """
        withheld: dict[str, str] = {}
        for tool, info in (await self.tool_versions()).items():
            if not info["installed"]:
                continue
            banner = info.get("version") or ""
            if has_grammar(tool, banner):
                info["grammar"] = True
                continue
            seen = f"reports version '{banner[:60]}'" if banner else "printed no version"
            reason = (
                f"the configured {tool} {seen}; this server understands {tool} {grammar_version(tool)} "
                f"(the same major.minor version): install that version or point K8S_MCP_{tool.upper()} at it"
            )
            info["grammar"] = False
            self.pipeline.executor.withhold(tool, reason)
            withheld[tool] = reason
        return withheld

    async def _probe(self, tool: str) -> dict[str, Any]:
        path = self.pipeline.executor.binaries.get(tool)
        if path is None:
            return {"installed": False, "path": None, "version": None}
        try:
            raw = await self.pipeline.executor.run(
                [_VERSION_ARGV[tool]], kubeconfig=None, timeout=VERSION_PROBE_TIMEOUT
            )
        except ProxyError as exc:
            return {"installed": True, "path": str(path), "version": None, "error": exc.code}
        # version banners carry no secrets, but everything printed goes through the redactor anyway
        text = self.pipeline.redactor.redact(raw).stdout.strip()
        return {
            "installed": True,
            "path": str(path),
            "version": text.splitlines()[0] if text else None,
            "exit_code": raw.exit_code,
        }
