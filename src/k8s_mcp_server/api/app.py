"""The app factory: settings in, a FastAPI app with REST routes and the MCP mount out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from k8s_mcp_server import __version__
from k8s_mcp_server.api.approvals import approvals_router
from k8s_mcp_server.api.auth import Authenticator
from k8s_mcp_server.api.limits import BodyLimit
from k8s_mcp_server.api.mcp import McpGate, mount_mcp
from k8s_mcp_server.api.metrics import Metrics
from k8s_mcp_server.api.policies import PolicyRegistry
from k8s_mcp_server.api.ratelimit import RateLimited, RateLimiter
from k8s_mcp_server.api.refusals import RefusalAudit
from k8s_mcp_server.api.routes import build_router
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.api.transport import HostOriginGuard, default_allowed_hosts
from k8s_mcp_server.api.validation import validation_error
from k8s_mcp_server.approvals import ApprovalGate
from k8s_mcp_server.audit import AuditLog
from k8s_mcp_server.audit.refusals import RefusalAggregator
from k8s_mcp_server.console.pages import console_router
from k8s_mcp_server.contracts import TOOLS
from k8s_mcp_server.errors import Busy, ProxyError, ResourceLimit
from k8s_mcp_server.execute import (
    ArgocdServer,
    ChildLimits,
    Executor,
    default_work_dir,
    find_prlimit,
    resolve_binaries,
)
from k8s_mcp_server.identity.challenge import OAuthChallenge
from k8s_mcp_server.identity.clusters import ClusterRegistry
from k8s_mcp_server.identity.impersonate import Impersonator
from k8s_mcp_server.identity.oauth import OAuth
from k8s_mcp_server.keys import KeyStore
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, default_kubeconfig
from k8s_mcp_server.parse.vocabulary import FILTERS
from k8s_mcp_server.pipeline import Pipeline, PolicyDenied
from k8s_mcp_server.policy import CompiledPolicy, PolicyStore
from k8s_mcp_server.redact import Redactor
from k8s_mcp_server.redact.provenance import SecretValues
from k8s_mcp_server.redact.ruleset import ruleset
from k8s_mcp_server.settings import Settings
from k8s_mcp_server.state import shared_buckets
from k8s_mcp_server.state.pgapprovals import approval_store

log = logging.getLogger(__name__)

DESCRIPTION = (
    "A policy-enforcing proxy for kubectl, helm, istioctl and argocd. Every command is parsed, checked "
    "against the security team's policy, audited before it runs, and its output redacted."
)


def policy_summary(policy: CompiledPolicy) -> str:
    parts = ["Policy:", "read-only;" if policy.read_only else "writes may be allowed by rules;"]
    parts.append(
        {"redact": "Secret values are redacted;", "deny": "reading Secrets is refused;"}.get(
            policy.secrets, "Secrets are returned as stored;"
        )
    )
    parts.append(f"filters after `|`: {', '.join(policy.pipes)}." if policy.pipes else "no pipes.")
    if policy.mode == "dry-run":
        parts.append("(dry-run: would-be denials run and come back as warnings.)")
    return " ".join(parts)


def argocd_server(settings: Settings) -> ArgocdServer | None:
    """The operator's Argo CD API server, or None; a token file that cannot be used fails the start."""
    if settings.argocd_server is None:
        return None
    try:
        return ArgocdServer(
            settings.argocd_server,
            token=settings.argocd_auth_token,
            token_file=settings.argocd_auth_token_file,
            grpc_web=settings.argocd_grpc_web,
            plaintext=settings.argocd_plaintext,
            insecure=settings.argocd_insecure,
        )
    except ProxyError as exc:
        raise RuntimeError(exc.message) from None


def build_state(settings: Settings) -> AppState:
    """Everything that can fail at start fails here, before the server listens (fail closed)."""
    metrics = Metrics()
    policies = PolicyRegistry(PolicyStore(settings.policy), on_reload=metrics.policy_reloaded)
    keys = KeyStore(settings.api_keys_file) if settings.api_keys_file else None
    if keys is not None:
        policies.preload(keys.current())
    oauth = OAuth.from_settings(settings)
    if oauth is not None and oauth.identity_map is not None:
        policies.preload_files(entry.policy for entry in oauth.identity_map.mappings())
    kube_policy = KubeconfigPolicy.from_settings(settings)
    default = default_kubeconfig(
        file=settings.default_kubeconfig,
        in_cluster=settings.in_cluster,
        service_account_dir=settings.service_account_dir,
        policy=kube_policy,
    )
    configured = {
        "kubectl": settings.kubectl,
        "helm": settings.helm,
        "istioctl": settings.istioctl,
        "argocd": settings.argocd,
    }
    executor = Executor(
        resolve_binaries(configured, [*TOOLS, *sorted(FILTERS)]),
        max_output_bytes=settings.max_output_bytes,
        max_concurrency=settings.max_concurrency,
        max_queue=settings.max_queue,
        work_dir=settings.work_dir or default_work_dir(),
        argocd=argocd_server(settings),
        limits=ChildLimits(
            memory_bytes=settings.child_memory_bytes,
            cpu_seconds=settings.child_cpu_seconds,
            open_files=settings.child_open_files,
            processes=settings.child_processes,
            prlimit=find_prlimit(),
        ),
        max_per_caller=settings.max_per_caller,
        admission_wait=settings.admission_wait,
    )
    audit = AuditLog(
        settings.audit_log,
        fsync=settings.audit_fsync,
        stdout=settings.audit_stdout,
        max_bytes=settings.audit_max_bytes,
        chain_id=settings.audit_chain_id,
    )
    approvals = ApprovalGate(
        approval_store(settings),  # PostgreSQL with K8S_MCP_DATABASE_URL, else SQLite beside the audit log
        audit,
        max_wait=settings.approval_max_wait,
    )
    pipeline = Pipeline(
        policies=policies.default,
        audit=audit,
        approvals=approvals,
        redactor=Redactor(),
        executor=executor,
        kubeconfig_policy=kube_policy,
        default_kubeconfig=default,
        command_timeout=settings.command_timeout,
        max_command_timeout=settings.max_command_timeout,
        max_command_length=settings.max_command_length,
        observer=metrics,
        provenance=SecretValues(executor, ttl=settings.provenance_ttl) if settings.provenance else None,
    )
    hosts = settings.allowed_hosts
    if hosts is None:
        hosts = default_allowed_hosts(settings.port)
    return AppState(
        refusals=RefusalAggregator(pipeline.audit),
        pipeline=pipeline,
        authenticator=Authenticator(keys if keys is not None else ()),
        policies=policies,
        metrics=metrics,
        limiter=RateLimiter(settings.rate_limit_per_minute, backend=shared_buckets(settings)),
        guard=HostOriginGuard(hosts, settings.allowed_origins),
        oauth=oauth,
        impersonator=Impersonator(
            default,
            user_prefix=settings.impersonate_user_prefix,
            group_prefix=settings.impersonate_group_prefix,
        )
        if settings.identity_mode == "impersonate"
        else None,
        clusters=ClusterRegistry.load(settings.clusters_file, kube_policy)
        if settings.clusters_file
        else None,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ruleset)  # compile the redaction rules now, not in the first request
        for tool, reason in (await state.check_grammars()).items():
            log.warning("%s withheld: %s", tool, reason)
        refusals = state.refusals
        flushing = asyncio.create_task(refusals.run()) if refusals is not None else None
        approvals = state.pipeline.approvals
        sweeping = asyncio.create_task(approvals.sweep_forever()) if approvals is not None else None
        yield
        if sweeping is not None:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
        if flushing is not None and refusals is not None:
            flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flushing
            refusals.flush()  # the last interval's counts, before the log closes
        if state.oauth is not None:
            await state.oauth.aclose()
        state.pipeline.audit.close()
        state.pipeline.executor.close()

    app = FastAPI(title="k8s-mcp-server", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.k8s = state
    app.include_router(build_router(policy_summary(state.policies.default.current())))
    app.include_router(approvals_router())
    app.include_router(console_router(state, settings.audit_log))

    @app.exception_handler(ProxyError)
    async def proxy_error(request: Request, exc: ProxyError) -> JSONResponse:
        detail: dict[str, object] = {"code": exc.code, "message": exc.message}
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            detail["request_id"] = request_id
        if isinstance(exc, PolicyDenied):
            detail["rule"] = exc.rule
        if isinstance(exc, ResourceLimit):
            detail["limit"] = exc.limit
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimited | Busy) and exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        elif exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(status_code=exc.status, content={"detail": detail}, headers=headers)

    app.add_exception_handler(RequestValidationError, validation_error)
    mount_mcp(app, state, description=DESCRIPTION, summary=policy_summary)
    if state.oauth is not None:  # RFC 9728 metadata, and its challenge on every 401 (REST and MCP)
        app.add_middleware(OAuthChallenge, oauth=state.oauth)
    app.add_middleware(McpGate, state=state)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # before anything reads
    if state.refusals is not None:  # outermost: sees every other layer's answers
        app.add_middleware(RefusalAudit, refusals=state.refusals)
    return app
