"""The MCP mount: stateless streamable HTTP at /mcp, one tool per CLI, straight into the pipeline.

fastapi-mcp 0.4.0 (pinned, unmaintained) is kept as the mount's base class; what it lacks is
extended here, in this module only, so that moving to the official SDK's 2.x server is this
module's work:

- its tools re-entered the app through an in-process HTTP client; here a tool call goes to
  `compose.run_tool`, the same code the REST route calls (no HTTP hop, no second authentication);
- its transport kept sessions in memory (a restart broke every client); here every HTTP request
  is served on its own (`stateless=True`) and the `Mcp-Session-Id` handed out at `initialize` is
  an opaque correlation token the server never looks up: a restart or another replica serves the
  next call;
- its results said `isError: false` for a command that failed; here `isError` follows the exit
  code and the timeout, the text is the output then a one-line status, and `structuredContent`
  matches the advertised `outputSchema`;
- tool metadata (title, annotations, description) is computed per caller from the caller's policy
  in force now, and only installed tools are listed;
- arguments are validated by the same pydantic model as REST, and no error carries an input value;
- a call with a `progressToken` gets progress notifications (on an SSE response), and a call whose
  client cancels (`notifications/cancelled`) or goes away is stopped: its process group is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from fastapi import FastAPI
from fastapi_mcp import FastApiMCP
from mcp import types
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.shared.exceptions import McpError
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_mcp_server import __version__
from k8s_mcp_server.api.compose import authenticate, policy_for, run_tool, tool_response
from k8s_mcp_server.api.models import ToolRequest, ToolResponse
from k8s_mcp_server.api.ratelimit import bucket_key
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.api.validation import validate_model
from k8s_mcp_server.approvals import ApprovalPending
from k8s_mcp_server.contracts import TOOLS, CommandClass, CommandRequest, Transport
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.keys import ANONYMOUS, ApiKey
from k8s_mcp_server.pipeline import Completed, PolicyDenied
from k8s_mcp_server.policy import CompiledPolicy

MOUNT_PATH = "/mcp"
# A tool call's arguments are a command (64 KiB at most) and perhaps a kubeconfig (256 KiB, base64):
# a body over this is refused before it is parsed.
MAX_BODY_BYTES = 1024 * 1024
# Seconds between progress notifications while a command runs: well under the 60 s request
# timeout of the TypeScript SDK (which a client can reset on progress) and of most hosts.
PROGRESS_INTERVAL = 5.0
# How long a cancelled call waits for the executor to stop its processes (SIGTERM, grace, SIGKILL)
# before the handler gives up on it; the executor's own grace period is shorter.
CANCEL_WAIT = 10.0
# The JSON-RPC methods this server answers; any other request is -32601 (method not found).
METHODS = frozenset({"initialize", "ping", "tools/list", "tools/call"})
# JSON-RPC error codes: the specification's, and two of the server-defined range.
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
REFUSED, UNAUTHENTICATED, REQUEST_CANCELLED = -32000, -32001, -32800
DIALECT = "http://json-schema.org/draft-07/schema#"  # of the tool schemas
_CALL = "k8s_mcp.call"  # the scope key that carries a request's _Call to the handlers

_TITLES = {
    "kubectl": "kubectl: Kubernetes resources",
    "helm": "helm: Helm releases and charts",
    "istioctl": "istioctl: Istio service mesh",
    "argocd": "argocd: Argo CD applications",
}
_EXAMPLES = {
    "kubectl": (
        "get pods -n default -o wide",
        "describe deploy web -n shop",
        "logs deploy/web -n shop --tail=50",
    ),
    "helm": ("list -A", "status web -n shop", "history web -n shop"),
    "istioctl": ("proxy-status", "analyze -n shop", "proxy-config routes deploy/web -n shop"),
    "argocd": ("app list --core", "app get web --core", "app diff web --core"),
}
_READ_CLASSES = frozenset({CommandClass.READ, CommandClass.SENSITIVE_READ, CommandClass.LOCAL})

PolicySummary = Callable[[CompiledPolicy], str]


def can_only_read(policy: CompiledPolicy) -> bool:
    """True when nothing this policy lets run can change the cluster: the built-in read-only guard
    (or deny-by-default with read-only allow rules), enforced rather than dry-run."""
    if policy.mode != "enforce":
        return False
    if policy.read_only:
        return True
    rules = policy.allow_rules
    return policy.default == "deny" and all(
        r.classes is not None and r.classes <= _READ_CLASSES for r in rules
    )


def _input_schema() -> dict[str, Any]:
    schema = ToolRequest.model_json_schema()
    schema["$schema"] = DIALECT  # nothing newer is used
    schema.pop("title", None)
    return schema


def _output_schema() -> dict[str, Any]:
    """The REST response's fields, without the output itself (that is the text content)."""
    full = ToolResponse.model_json_schema()
    props = {k: v for k, v in full["properties"].items() if k not in ("output", "error")}
    required = [k for k in full["required"] if k in props]
    # a command waiting for an approver answers {"approval": {...}, "request_id"} (approvals/)
    props["approval"] = {
        "type": "object",
        "description": "The command did not run: it waits for this approval (id, status, expires_at, "
        "waiting_for, preview, how_to_continue).",
    }
    # draft-07: clients validate every result against it (the Python SDK checks the schema itself
    # each time, ~4x faster for draft-07 than for the default 2020-12)
    return {
        "$schema": DIALECT,
        "type": "object",
        "properties": props,
        "anyOf": [{"required": required}, {"required": ["approval", "request_id"]}],
    }


INPUT_SCHEMA = _input_schema()
OUTPUT_SCHEMA = _output_schema()


def describe_tool(tool: str, policy: CompiledPolicy, summary: PolicySummary) -> types.Tool:
    """The tool as this caller sees it: their policy's sentence and annotations, its own examples."""
    read_only = can_only_read(policy)
    examples = ", ".join(f"`{e}`" for e in _EXAMPLES[tool])
    description = (
        f"Run a `{tool}` command against the cluster of the kubeconfig the client sends in the "
        f"X-Kubeconfig header (base64). Pass the arguments only, e.g. {examples}. No shell: one "
        f"command, optionally piped into filters the policy allows (`| grep x`). Your {summary(policy)} "
        "A refusal names its code and rule: change the command rather than retrying it."
    )
    return types.Tool(
        name=tool,
        title=_TITLES[tool],
        description=description,
        inputSchema=INPUT_SCHEMA,
        outputSchema=OUTPUT_SCHEMA,
        annotations=types.ToolAnnotations(
            title=_TITLES[tool],
            readOnlyHint=read_only,
            destructiveHint=not read_only,
            idempotentHint=read_only,
            openWorldHint=True,
        ),
    )


def status_line(response: ToolResponse) -> str:
    """One line after the output: how the command ended, and where to look it up."""
    if response.timed_out:
        head = f"timed out after {response.duration_ms / 1000:.1f} s (the command was stopped)"
    elif response.exit_code != 0:
        head = f"failed: exit code {response.exit_code}"
    else:
        head = "exit code 0"
    parts = [head, f"{response.duration_ms:.0f} ms", f"request_id {response.request_id}"]
    if response.redactions:
        parts.append(f"{response.redactions} value(s) redacted")
    if response.truncated:
        parts.append("output truncated (narrow the command, e.g. with -l, --tail or | head)")
    return "[" + "; ".join(parts) + "]"


def ran_result(done: Completed, request_id: str) -> types.CallToolResult:
    response = tool_response(done, request_id)
    pieces = [p for p in (response.output.rstrip("\n"), (response.error or "").rstrip("\n")) if p]
    pieces.append(status_line(response))
    pieces.extend(f"warning: {w}" for w in response.warnings)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text="\n".join(pieces))],
        structuredContent=response.model_dump(exclude={"output", "error"}),
        isError=not response.success,
    )


def pending_result(pending: ApprovalPending) -> types.CallToolResult:
    """Not an error: the command did not run and waits for an approver. The text says what it waits
    for and how to continue; the approval object is in `structuredContent`."""
    body = pending.body()
    approval = body["approval"]
    lines = [
        pending.message,
        f"waiting for: {', '.join(approval['waiting_for'])}",
        f"to continue: {approval['how_to_continue']}",
    ]
    preview = approval.get("preview") or {}
    if preview.get("diff"):
        lines.append("preview (what the cluster says would change):\n" + preview["diff"])
    elif preview.get("note"):
        lines.append(f"preview: {preview['note']}")
    lines.append(f"[pending approval: id {approval['id']}; request_id {pending.request_id}]")
    return types.CallToolResult(
        content=[types.TextContent(type="text", text="\n".join(lines))],
        structuredContent=body,
        isError=False,
    )


def refused_result(exc: ProxyError, request_id: str) -> types.CallToolResult:
    detail = [f"code {exc.code}"]
    if isinstance(exc, PolicyDenied) and exc.rule:
        detail.append(f"rule {exc.rule}")
    detail.append(f"request_id {request_id}")
    text = f"{exc.message}\n[refused: {'; '.join(detail)}]"
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


@dataclass
class _Call:
    """One HTTP request to /mcp: who sent it, and how to stop what it started."""

    key: ApiKey | None
    source_ip: str | None
    kubeconfig: str | None
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class InFlight:
    """Calls that a `notifications/cancelled` may stop, by (caller, correlation token, JSON-RPC id).

    A later HTTP request carries the cancellation (stateless: nothing else links them); it can only
    stop a call of the same caller that came with the same `Mcp-Session-Id` token.
    """

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str, str], _Call] = {}

    @contextlib.contextmanager
    def register(self, key: tuple[str, str, str], call: _Call) -> Iterator[None]:
        self._calls[key] = call
        try:
            yield
        finally:
            if self._calls.get(key) is call:
                del self._calls[key]

    def cancel(self, key: tuple[str, str, str]) -> bool:
        call = self._calls.get(key)
        if call is None:
            return False
        call.scope.cancel()
        return True


class PolicyAwareMCP(FastApiMCP):  # type: ignore[misc]
    """fastapi-mcp's FastApiMCP with its server and transport replaced (see the module docstring)."""

    def __init__(self, app: FastAPI, state: AppState, *, description: str, summary: PolicySummary) -> None:
        self.state = state
        self.summary = summary
        self.in_flight = InFlight()
        super().__init__(app, name="k8s-mcp-server", description=description, include_operations=list(TOOLS))

    def setup_server(self) -> None:  # replaces fastapi-mcp's OpenAPI -> HTTP-client tools
        server: Server[Any, Any] = Server(self.name, version=__version__, instructions=self.description)
        server.request_handlers[types.ListToolsRequest] = self._list_tools
        server.request_handlers[types.CallToolRequest] = self._call_tool
        self.server = server
        self.tools: list[types.Tool] = []  # fastapi-mcp's static list: unused, tools are per caller
        self.operation_map: dict[str, Any] = {}
        self.init_options = server.create_initialization_options()

    def mount_http(self, router: Any = None, mount_path: str = MOUNT_PATH) -> None:
        self.fastapi.router.routes.append(Route(mount_path, endpoint=McpEndpoint(self)))

    async def _list_tools(self, _: types.ListToolsRequest) -> types.ServerResult:
        call = _call_of(self.server)
        try:
            policy = policy_for(self.state, call.key).current()
        except ProxyError as exc:
            raise McpError(
                types.ErrorData(code=REFUSED, message=exc.message, data={"code": exc.code})
            ) from None
        versions = await self.state.tool_versions()
        listed = [
            describe_tool(tool, policy, self.summary)
            for tool in TOOLS
            if versions[tool]["installed"] and versions[tool].get("grammar") is not False
        ]
        return types.ServerResult(types.ListToolsResult(tools=listed))

    async def _call_tool(self, req: types.CallToolRequest) -> types.ServerResult:
        ctx = self.server.request_context
        token = ctx.meta.progressToken if ctx.meta is not None else None
        progress = _progress_sender(ctx, req.params.name)
        result = await self.call(
            _call_of(self.server), req.params.name, req.params.arguments, token, progress
        )
        return types.ServerResult(result)

    async def call(
        self,
        call: _Call,
        tool: str,
        arguments: dict[str, Any] | None,
        progress_token: object = None,
        send_progress: Callable[[float], Awaitable[None]] | None = None,
    ) -> types.CallToolResult:
        """One tools/call, whichever way it arrived (the SDK's session, or McpEndpoint directly)."""
        if tool not in TOOLS:
            raise McpError(
                types.ErrorData(
                    code=INVALID_PARAMS, message="unknown tool: the tools are " + ", ".join(TOOLS)
                )
            )
        request_id = str(uuid.uuid4())
        try:
            body = validate_model(ToolRequest, arguments or {})
            request = CommandRequest(
                request_id=request_id,
                tool=tool,
                command=body.command,
                namespace=body.namespace,
                timeout=body.timeout,
                principal=call.key.principal if call.key else ANONYMOUS,
                transport="mcp",
                source_ip=call.source_ip,
                cluster=body.cluster,
                approval_id=body.approval_id,
                approval_wait=body.approval_wait,
            )
            work = run_tool(self.state, request, call.key, call.kubeconfig or body.kubeconfig)
            done = await _watched(work, progress_token, send_progress)
        except ApprovalPending as pending:
            return pending_result(pending)
        except ProxyError as exc:
            return refused_result(exc, request_id)
        return ran_result(done, request_id)


def _call_of(server: Server[Any, Any]) -> _Call:
    request = server.request_context.request
    call = request.scope.get(_CALL) if request is not None else None
    if not isinstance(call, _Call):  # every request reaches the server through McpEndpoint
        raise McpError(types.ErrorData(code=types.INTERNAL_ERROR, message="request without a caller"))
    return call


def _progress_sender(ctx: Any, tool: str) -> Callable[[float], Awaitable[None]]:
    async def send(elapsed: float) -> None:
        token = ctx.meta.progressToken
        message = f"{tool} is still running ({elapsed:.0f} s)"
        await ctx.session.send_progress_notification(
            token, elapsed, message=message, related_request_id=ctx.request_id
        )

    return send


async def _watched(
    work: Awaitable[Completed],
    progress_token: object,
    send_progress: Callable[[float], Awaitable[None]] | None,
) -> Completed:
    """Await `work` in its own task, sending progress every PROGRESS_INTERVAL when asked.

    When this call is cancelled (the client cancelled or went away), the task is cancelled once and
    awaited: the executor then stops the command's process groups (SIGTERM, then SIGKILL) and reaps
    them, which a cancellation delivered again at every await would interrupt.
    """
    task = asyncio.ensure_future(work)
    started = time.monotonic()
    try:
        while True:
            every = PROGRESS_INTERVAL if progress_token is not None and send_progress is not None else None
            done, _ = await asyncio.wait({task}, timeout=every)
            if done or send_progress is None:
                return task.result()
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await send_progress(time.monotonic() - started)
    except BaseException:
        if not task.done():
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({task}, timeout=CANCEL_WAIT)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failure after the cancel is not logged as unhandled
        raise


class McpEndpoint:
    """The ASGI app at /mcp: authenticate, read one JSON-RPC message, serve it without a session."""

    def __init__(self, mcp: PolicyAwareMCP) -> None:
        self.mcp = mcp
        self.state = mcp.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":  # no standalone stream and no session to delete (stateless)
            await _jsonrpc_error(
                send, 405, None, INVALID_REQUEST, "only POST is served here", [(b"allow", b"POST")]
            )
            return
        client = scope.get("client")
        source_ip = client[0] if client else None
        probe = CommandRequest(
            request_id=str(uuid.uuid4()), tool="", command="", transport="mcp", source_ip=source_ip
        )
        try:
            key = await authenticate(self.state, _header(scope, b"authorization"), probe)
        except ProxyError as exc:
            await _refuse(send, exc, probe.request_id)
            return
        version = _header(scope, b"mcp-protocol-version")
        if version is not None and version not in SUPPORTED_PROTOCOL_VERSIONS:
            message = "unsupported MCP-Protocol-Version; supported: " + ", ".join(SUPPORTED_PROTOCOL_VERSIONS)
            await _jsonrpc_error(send, 400, None, INVALID_REQUEST, message)
            return
        body = await _read_body(receive)
        if body is None:
            await _jsonrpc_error(
                send, 413, None, INVALID_REQUEST, f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
            return
        try:
            message = json.loads(body)
        except ValueError:
            await _jsonrpc_error(send, 400, None, PARSE_ERROR, "parse error: the body is not valid JSON")
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            await _jsonrpc_error(
                send, 400, None, INVALID_REQUEST, "expected one JSON-RPC 2.0 message (no batches)"
            )
            return
        rpc_id = message.get("id")
        method = message.get("method")
        if ("id" in message and (isinstance(rpc_id, bool) or not isinstance(rpc_id, str | int))) or (
            "method" in message and not isinstance(method, str)
        ):
            await _jsonrpc_error(send, 400, None, INVALID_REQUEST, "a JSON-RPC id is a string or an integer")
            return
        if "method" not in message:  # a response: this server sends no requests, so none is awaited
            await _accepted(send)
            return
        if "params" in message and not isinstance(message["params"], dict):
            # checked here: the SDK's transport would answer with pydantic's text, which repeats it
            await _jsonrpc_error(send, 400, rpc_id, INVALID_PARAMS, "params must be an object")
            return
        session = _header(scope, MCP_SESSION_ID_HEADER.encode()) or ""
        owner = bucket_key(key.principal if key else ANONYMOUS, source_ip, anonymous=key is None)
        if method == "notifications/cancelled":
            params = message.get("params")
            cancelled = params.get("requestId") if isinstance(params, dict) else None
            self.mcp.in_flight.cancel((owner, session, json.dumps(cancelled)))
            await _accepted(send)
            return
        is_request = "id" in message and isinstance(method, str)
        if is_request and method not in METHODS:
            await _jsonrpc_error(send, 200, rpc_id, METHOD_NOT_FOUND, "method not found")
            return
        call = _Call(key=key, source_ip=source_ip, kubeconfig=_header(scope, b"x-kubeconfig"))
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        streams = method == "tools/call" and isinstance(meta, dict) and meta.get("progressToken") is not None
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != MCP_SESSION_ID_HEADER.encode()]
        inner_scope = {**scope, "headers": headers, _CALL: call}
        if method == "initialize":
            send = _with_session_header(send, secrets.token_urlsafe(24))
        registration = (
            self.mcp.in_flight.register((owner, session, json.dumps(rpc_id)), call)
            if is_request
            else contextlib.nullcontext()
        )
        with registration:
            if method == "tools/call" and is_request and not streams:
                await self._call_directly(scope, receive, send, call, rpc_id, params)
            else:
                await self._serve(inner_scope, body, receive, send, call, rpc_id, sse=streams)

    async def _call_directly(
        self, scope: Scope, receive: Receive, send: Send, call: _Call, rpc_id: object, params: object
    ) -> None:
        """A tools/call without a progressToken, answered as JSON by the same handler
        (`PolicyAwareMCP.call`) without the SDK's per-message transport and session: what they add
        (body parsed twice, a session with its streams and tasks) costs ~1 ms per call here."""
        accept = (_header(scope, b"accept") or "").lower()
        if not any(kind in accept for kind in ("application/json", "application/*", "*/*")):
            await _jsonrpc_error(
                send, 406, rpc_id, INVALID_REQUEST, "the client must accept application/json"
            )
            return
        try:
            parsed = types.CallToolRequestParams.model_validate(params)
        except ValidationError:  # its text would repeat the input
            await _jsonrpc_error(send, 200, rpc_id, INVALID_PARAMS, "invalid request parameters")
            return
        gone = False
        result: types.CallToolResult | None = None
        error: types.ErrorData | None = None

        async def watch_disconnect() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            call.scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_disconnect)
            with call.scope:
                try:
                    result = await self.mcp.call(call, parsed.name, parsed.arguments)
                except McpError as exc:
                    error = exc.error
            tg.cancel_scope.cancel()
        if gone:
            return  # nobody to answer
        if result is None and error is None:  # cancelled by notifications/cancelled
            error = types.ErrorData(code=REQUEST_CANCELLED, message="request cancelled")
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": rpc_id}
        if result is not None:
            answer["result"] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        else:
            answer["error"] = error.model_dump(mode="json", exclude_none=True) if error else None
        await _send_json(send, 200, json.dumps(answer, ensure_ascii=False).encode(), [])

    async def _serve(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        call: _Call,
        rpc_id: object,
        *,
        sse: bool,
    ) -> None:
        """One stateless transport and server session for this one message (what the SDK's
        stateless session manager does, in a task group of this request, so that cancelling it
        stops the handler); a client that disconnects cancels it too."""
        transport = StreamableHTTPServerTransport(
            mcp_session_id=None, is_json_response_enabled=not sse, event_store=None, security_settings=None
        )
        finished = anyio.Event()
        gone = anyio.Event()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished.set()
            await send(message)

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    if not finished.is_set():
                        call.scope.cancel()
                    return

        async def run_server(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            async with transport.connect() as (read_stream, write_stream):
                task_status.started()
                await self.mcp.server.run(read_stream, write_stream, self.mcp.init_options, stateless=True)

        with call.scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch_disconnect)
                await tg.start(run_server)
                try:
                    await transport.handle_request(scope, replay, tracked_send)
                finally:
                    with anyio.CancelScope(shield=True):
                        await transport.terminate()
                    tg.cancel_scope.cancel()
        if not started and not gone.is_set():  # cancelled before any answer: the request ends here
            await _jsonrpc_error(send, 200, rpc_id, REQUEST_CANCELLED, "request cancelled")


CONSOLE_PATH = "/console"


class McpGate:
    """ASGI middleware in front of every HTTP request: the Host and Origin allow-lists (DNS
    rebinding). A refusal is audited once; on /mcp it is a JSON-RPC error."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        is_mcp = path == MOUNT_PATH or path.startswith(MOUNT_PATH + "/")
        origin = _header(scope, b"origin")
        if path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/"):
            origin = None  # the console checks same-origin posts itself (console/pages.py)
        try:
            self.state.guard.check(_header(scope, b"host"), origin)
        except ProxyError as exc:
            client = scope.get("client")
            transport: Transport = "mcp" if is_mcp else "rest"
            request = CommandRequest(
                request_id=str(uuid.uuid4()),
                tool="",
                command="",
                transport=transport,
                source_ip=client[0] if client else None,
            )
            try:
                await self.state.audit_rejection(request, exc)
            except ProxyError as failed:
                exc = failed
            await (
                _refuse(send, exc, request.request_id) if is_mcp else _reject(send, exc, request.request_id)
            )
            return
        await self.app(scope, receive, send)


def mount_mcp(app: FastAPI, state: AppState, *, description: str, summary: PolicySummary) -> PolicyAwareMCP:
    mcp = PolicyAwareMCP(app, state, description=description, summary=summary)
    mcp.mount_http(app, mount_path=MOUNT_PATH)
    return mcp


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope["headers"] if k.lower() == name]
    if len(values) != 1:
        return None if not values else "\x00duplicate"  # two Host/Origin/Authorization headers: refuse
    value: bytes = values[0]
    return value.decode("latin-1")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _with_session_header(send: Send, token: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            message = {
                **message,
                "headers": [*message.get("headers", []), (MCP_SESSION_ID_HEADER.encode(), token.encode())],
            }
        await send(message)

    return wrapped


async def _accepted(send: Send) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _jsonrpc_error(
    send: Send,
    status: int,
    rpc_id: object,
    code: int,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    payload = json.dumps(
        {"jsonrpc": "2.0", "id": rpc_id if isinstance(rpc_id, str | int) else None, "error": error}
    )
    await _send_json(send, status, payload.encode(), headers or [])


async def _refuse(send: Send, exc: ProxyError, request_id: str) -> None:
    """A refusal of the HTTP request itself, as a JSON-RPC error with the REST detail as its data."""
    headers = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else []
    code = UNAUTHENTICATED if exc.status == 401 else REFUSED
    data = {"code": exc.code, "message": exc.message, "request_id": request_id}
    await _jsonrpc_error(send, exc.status, None, code, exc.message, headers, data)


async def _reject(send: Send, exc: ProxyError, request_id: str) -> None:
    body: dict[str, Any] = {"detail": {"code": exc.code, "message": exc.message, "request_id": request_id}}
    await _send_json(send, exc.status, json.dumps(body).encode(), [])


async def _send_json(send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": payload})
