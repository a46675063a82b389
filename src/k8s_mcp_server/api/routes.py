"""REST routes: one POST endpoint per tool (each becomes an MCP tool), health and tool status."""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter

from k8s_mcp_server.api.metrics import CONTENT_TYPE
from k8s_mcp_server.api.models import ErrorBody, ToolRequest, ToolResponse
from k8s_mcp_server.api.ratelimit import bucket_key
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.contracts import TOOLS, CommandRequest, Transport
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.keys import ApiKey

MCP_ORIGIN_HEADER = "x-k8s-mcp-origin"
_TOOL_RESPONSE = TypeAdapter(ToolResponse)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid_command, invalid_kubeconfig, unsafe_kubeconfig, ..."},
    401: {"model": ErrorBody, "description": "unauthenticated"},
    403: {"model": ErrorBody, "description": "policy_denied, forbidden_host, forbidden_origin"},
    429: {"model": ErrorBody, "description": "busy, rate_limited (with Retry-After)"},
    503: {"model": ErrorBody, "description": "audit_unavailable, policy_unavailable: nothing ran"},
}


def caller(request: Request, state: AppState) -> tuple[Transport, str | None]:
    """REST, or a tool call that the MCP mount forwarded (proved by the per-process token)."""
    origin = request.headers.get(MCP_ORIGIN_HEADER, "")
    token, _, source_ip = origin.partition(";")
    if origin and hmac.compare_digest(token, state.mcp_token):
        return "mcp", source_ip or None
    return "rest", request.client.host if request.client else None


def tool_description(tool: str, policy_summary: str) -> str:
    return (
        f"Run a `{tool}` command against the Kubernetes cluster of the kubeconfig sent with the request "
        f"(X-Kubeconfig header, base64). Pass only the arguments, e.g. "
        f"`{_EXAMPLES[tool]}`; the `{tool}` name in front is optional. No shell: one command, optionally "
        f"piped into filters (`| grep x`, `| jq .items`) that the policy allows; no `;`, `&&`, `$()`, "
        f"redirections or files. {policy_summary} A refused command returns a code, the reason and the "
        f"rule id: change the command accordingly rather than retrying it. Secret values in the output "
        f"are replaced by `[REDACTED:<rule>:<hash>]` placeholders (equal values, equal hashes)."
    )


_EXAMPLES = {
    "kubectl": "get pods -n default -o wide",
    "helm": "list -n default",
    "istioctl": "proxy-status",
    "argocd": "app list --core",  # --core: the request's kubeconfig (or a server the operator set)
}


def build_router(policy_summary: str) -> APIRouter:
    router = APIRouter()

    for tool in TOOLS:
        router.add_api_route(
            f"/tools/{tool}",
            _make_handler(tool),
            methods=["POST"],
            operation_id=tool,
            summary=f"Run {tool} under the server's policy",
            description=tool_description(tool, policy_summary),
            response_model=ToolResponse,
            responses=_ERRORS,
            tags=["tools"],
        )

    @router.get("/health", operation_id="health", tags=["service"])
    async def health(request: Request) -> dict[str, Any]:
        state = _state(request)
        default = state.policies.default.describe()
        keys = state.authenticator.store
        return {
            "status": "ok",
            "revision": default["revision"],
            "loaded_at": default["loaded_at"],
            "policy": default["path"],
            "last_error": default["last_error"],
            "policies": [p.describe() for p in state.policies.loaded()]
            + [
                {"name": str(path), "path": str(path), "revision": None, "loaded_at": None, "last_error": err}
                for path, err in state.policies.failed().items()
            ],
            "keys": None
            if keys is None
            else {
                "principals": len({k.principal for k in keys.current()}),
                "loaded_at": keys.loaded_at.isoformat(),
                "last_error": keys.last_error,
            },
        }

    @router.get("/metrics", operation_id="metrics", tags=["service"], response_class=Response)
    async def metrics(request: Request) -> Response:
        state = _state(request)
        transport, source_ip = caller(request, state)
        await authenticate(request, state, _service_request(transport, source_ip))
        for policy in state.policies.loaded():
            policy.current()  # a scrape notices a changed policy file even when no request came
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    @router.get("/tools/status", operation_id="tools_status", tags=["service"])
    async def tools_status(request: Request) -> dict[str, Any]:
        return await _state(request).tool_versions()

    return router


async def authenticate(request: Request, state: AppState, command_request: CommandRequest) -> ApiKey | None:
    """The caller's key (None: anonymous on loopback); a refusal is audited once, then raised."""
    try:
        return state.authenticator.principal(request.headers.get("authorization"), command_request.source_ip)
    except ProxyError as exc:
        await state.audit_rejection(command_request, exc)
        raise


def _service_request(transport: Transport, source_ip: str | None) -> CommandRequest:
    return CommandRequest(
        request_id=str(uuid.uuid4()), tool="", command="", transport=transport, source_ip=source_ip
    )


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.k8s
    return state


def _make_handler(tool: str) -> Any:
    async def handler(request: Request, body: ToolRequest) -> Response:
        state = _state(request)
        request_id = str(uuid.uuid4())
        request.state.request_id = request_id
        transport, source_ip = caller(request, state)
        command_request = CommandRequest(
            request_id=request_id,
            tool=tool,
            command=body.command,
            namespace=body.namespace,
            timeout=body.timeout,
            principal="anonymous",
            transport=transport,
            source_ip=source_ip,
        )
        key = await authenticate(request, state, command_request)
        if key is not None:
            command_request = replace(command_request, principal=key.principal)
        try:
            state.limiter.check(bucket_key(command_request.principal, source_ip, anonymous=key is None))
            policies = state.policies.for_key(key)
        except ProxyError as exc:
            await state.audit_rejection(command_request, exc)
            raise
        kubeconfig = request.headers.get("x-kubeconfig") or body.kubeconfig
        started = time.perf_counter()
        state.metrics.in_flight.inc()
        try:
            done = await state.pipeline.run(command_request, kubeconfig, policies=policies)
        finally:
            state.metrics.in_flight.dec()
            state.metrics.stage("total", time.perf_counter() - started)
        out = done.output
        response = ToolResponse(
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
        # JSON bytes straight from pydantic-core: one copy of a large output instead of FastAPI's
        # dict -> str -> bytes round trip (a 20 MB output would otherwise cost ~60 MB more here)
        payload = _TOOL_RESPONSE.dump_json(response)
        del response, out, done  # frees the output and, with it, the executor's large-output lane
        return Response(payload, media_type="application/json")

    handler.__name__ = f"run_{tool}"
    return handler
