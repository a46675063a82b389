"""REST routes: one POST endpoint per tool (each becomes an MCP tool), health and tool status."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from k8s_mcp_server.api.compose import authenticate, run_tool, tool_response
from k8s_mcp_server.api.health import health_report
from k8s_mcp_server.api.metrics import CONTENT_TYPE
from k8s_mcp_server.api.models import ErrorBody, ToolRequest, ToolResponse
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.approvals import ApprovalPending
from k8s_mcp_server.contracts import TOOLS, CommandRequest, Transport

_TOOL_RESPONSE = TypeAdapter(ToolResponse)

_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {"description": "approval_pending: the command waits for an approver; nothing ran"},
    400: {"model": ErrorBody, "description": "invalid_command, invalid_kubeconfig, unsafe_kubeconfig, ..."},
    401: {"model": ErrorBody, "description": "unauthenticated"},
    403: {"model": ErrorBody, "description": "policy_denied, forbidden_host, forbidden_origin"},
    429: {"model": ErrorBody, "description": "busy, rate_limited (with Retry-After)"},
    503: {"model": ErrorBody, "description": "audit_unavailable, policy_unavailable: nothing ran"},
}


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

    @router.get("/livez", operation_id="livez", tags=["service"])
    async def livez() -> dict[str, str]:
        """Liveness: answered on the event loop and touching nothing else, so only a stuck loop (or a
        dead process) misses it; the chart's livenessProbe restarts the pod then."""
        return {"status": "ok"}

    @router.get("/health", operation_id="health", tags=["service"])
    async def health(request: Request) -> JSONResponse:
        state = _state(request)
        code, verdict = health_report(state)  # 503 with the reasons when requests would be refused
        default = state.policies.default.describe()
        keys = state.authenticator.store
        body = {
            **verdict,
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
        return JSONResponse(body, status_code=code)

    @router.get("/metrics", operation_id="metrics", tags=["service"], response_class=Response)
    async def metrics(request: Request) -> Response:
        state = _state(request)
        source_ip = request.client.host if request.client else None
        await authenticate(state, request.headers.get("authorization"), _service_request("rest", source_ip))
        for policy in state.policies.loaded():
            policy.current()  # a scrape notices a changed policy file even when no request came
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    @router.get("/tools/status", operation_id="tools_status", tags=["service"])
    async def tools_status(request: Request) -> dict[str, Any]:
        return await _state(request).tool_versions()

    return router


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
        command_request = CommandRequest(
            request_id=request_id,
            tool=tool,
            command=body.command,
            namespace=body.namespace,
            timeout=body.timeout,
            transport="rest",
            source_ip=request.client.host if request.client else None,
            cluster=body.cluster,
            approval_id=body.approval_id,
            approval_wait=body.approval_wait,
        )
        key = await authenticate(state, request.headers.get("authorization"), command_request)
        kubeconfig = request.headers.get("x-kubeconfig") or body.kubeconfig
        try:
            done = await run_tool(state, command_request, key, kubeconfig)
        except ApprovalPending as pending:  # nothing ran: it waits for an approver (approvals/)
            return JSONResponse(pending.body(), status_code=202)
        response = tool_response(done, request_id)
        # JSON bytes straight from pydantic-core: one copy of a large output instead of FastAPI's
        # dict -> str -> bytes round trip (a 20 MB output would otherwise cost ~60 MB more here)
        payload = _TOOL_RESPONSE.dump_json(response)
        del response, done  # frees the output and, with it, the executor's large-output lane
        return Response(payload, media_type="application/json")

    handler.__name__ = f"run_{tool}"
    return handler
