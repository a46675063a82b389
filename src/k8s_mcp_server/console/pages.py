"""`/console`: the security console, server-rendered (Jinja2, autoescaped), no script of its own.

Every page: the Host must be one the server allows (DNS rebinding), a signed-in session with the page's
role (auditor: audit pages; admin: policy page; approver: approvals), and these headers:
Content-Security-Policy `default-src 'none'` with only same-origin styles and images, no framing, no
referrer to other sites, no caching. Every form post carries the session's CSRF token and, when the
browser sends an Origin, it must be this server's own.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from k8s_mcp_server.audit.files import chain_files
from k8s_mcp_server.audit.reader import RecordFilter, iter_records, parse_time, record_time
from k8s_mcp_server.console import auditview, charts
from k8s_mcp_server.console.sessions import (
    COOKIE,
    LOGIN_COOKIE,
    MAX_SECONDS,
    Session,
    Sessions,
    SignInAttempts,
)
from k8s_mcp_server.errors import PolicyError, ProxyError, Unauthenticated
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import compile_policy, evaluate
from k8s_mcp_server.policy.impact import replay

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send `Origin: null` on posts
    "Cache-Control": "no-store",
}
ROLE_HOME = (("auditor", "/console/audit"), ("approver", "/console/approvals"), ("admin", "/console/policy"))
MAX_POLICY_TEXT = 256 * 1024


def console_router(state: Any, audit_log: Path) -> APIRouter:
    """The console's routes over the app's state (authenticator, policies, audit log)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    sessions = Sessions()
    attempts = SignInAttempts()
    chain = auditview.ChainState()
    router = APIRouter(prefix="/console", include_in_schema=False)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(HEADERS)
        return response

    def guard(request: Request, *, post: bool = False) -> None:
        state.guard.check(request.headers.get("host"), None)
        if post:
            origin = request.headers.get("origin")
            own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
            if origin is not None and origin.rstrip("/").lower() != own:
                raise _Refused("this form came from another site's page")

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def gate(
        request: Request, role: str, *, post: bool = False, csrf: str | None = None
    ) -> Session | Response:
        try:
            guard(request, post=post)
        except ProxyError as exc:
            return page(request, "refused.html", 403, message=exc.message, session=None)
        session = session_of(request)
        if session is None:
            return _redirect("/console/login")
        if post and not session.csrf_ok(csrf):
            return page(
                request,
                "refused.html",
                403,
                message="the form's CSRF token is missing or wrong; reload the page",
                session=session,
            )
        if role not in session.roles:
            return page(
                request, "refused.html", 403, message=f"this page needs the {role} role", session=session
            )
        return session

    @router.get("", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return _redirect("/console/login")
        for role, url in ROLE_HOME:
            if role in session.roles:
                return _redirect(url)
        return page(
            request, "refused.html", 403, message="this principal has no console role", session=session
        )

    @router.get("/static/console.css")
    async def stylesheet() -> Response:
        css = (HERE / "static" / "console.css").read_text()
        return Response(
            css,
            media_type="text/css",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        try:
            guard(request)
        except ProxyError as exc:
            return page(request, "refused.html", 403, message=exc.message, session=None)
        token = secrets.token_urlsafe(32)
        response = page(
            request, "login.html", csrf=token, error=None, session=None, keys=state.authenticator.configured
        )
        _cookie(response, request, LOGIN_COOKIE, token, max_age=600)
        return response

    @router.post("/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        key: str = Form(default="", max_length=512),
        csrf: str = Form(default="", max_length=128),
    ) -> Response:
        try:
            guard(request, post=True)
        except ProxyError as exc:
            return page(request, "refused.html", 403, message=exc.message, session=None)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), csrf.encode()):
            return page(
                request,
                "refused.html",
                403,
                message="the sign-in form expired or came from another page; reload it",
                session=None,
            )
        source = request.client.host if request.client else "?"
        if not attempts.allow(source):
            return page(
                request,
                "refused.html",
                429,
                message="too many failed sign-ins from this address; wait a minute and try again",
                session=None,
            )
        found = None
        if key and state.authenticator.configured:
            with contextlib.suppress(Unauthenticated):
                found = state.authenticator.principal(f"Bearer {key}", None)
        if found is None or not getattr(found, "roles", None):
            attempts.failed(source)
            log.warning("console: a sign-in was refused")
            token = secrets.token_urlsafe(32)
            why = "that key is not valid, or its principal has no console role (auditor, approver, admin)"
            response = page(
                request,
                "login.html",
                401,
                csrf=token,
                error=why,
                session=None,
                keys=state.authenticator.configured,
            )
            _cookie(response, request, LOGIN_COOKIE, token, max_age=600)
            return response
        sid, _session = sessions.start(found.principal, frozenset(found.roles), found)
        log.info("console: %s signed in", found.principal)
        signed_in = _redirect("/console")
        _cookie(signed_in, request, COOKIE, sid, max_age=MAX_SECONDS)
        signed_in.delete_cookie(LOGIN_COOKIE, path="/console")
        return signed_in

    @router.post("/logout")
    async def logout(request: Request, csrf: str = Form(default="", max_length=128)) -> Response:
        session = session_of(request)
        if session is not None and session.csrf_ok(csrf):
            sessions.end(request.cookies.get(COOKIE))
        response = _redirect("/console/login")
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("/audit", response_class=HTMLResponse)
    async def audit(request: Request) -> Response:
        session = gate(request, "auditor")
        if not isinstance(session, Session):
            return session
        q = {k: (request.query_params.get(k) or "").strip()[:200] for k in _FILTERS}
        try:
            filt = RecordFilter(
                principal=q["principal"] or None,
                tool=q["tool"] or None,
                decision=q["decision"] or None,
                rule=q["rule"] or None,
                namespace=q["namespace"] or None,
                since=parse_time(q["since"]) if q["since"] else None,
                until=parse_time(q["until"]) if q["until"] else None,
            )
        except ValueError as exc:
            return page(
                request,
                "audit.html",
                400,
                session=session,
                q=q,
                error=str(exc),
                view=None,
                charts={},
                files=[],
            )
        view = await _thread(auditview.overview, audit_log, filt, q["cluster"] or None)
        drawn = {
            "hours": charts.stacked_hours("Requests per hour by decision (48 h)", view.per_hour),
            "denied": charts.hbars("Top denied rules", view.denied_rules),
            "principals": charts.hbars("Top principals", view.principals),
        }
        files = await _thread(chain.states, audit_log)
        return page(
            request, "audit.html", session=session, q=q, error=None, view=view, charts=drawn, files=files
        )

    @router.get("/audit/{request_id}", response_class=HTMLResponse)
    async def request_timeline(request: Request, request_id: str) -> Response:
        session = gate(request, "auditor")
        if not isinstance(session, Session):
            return session
        records = await _thread(auditview.timeline, audit_log, request_id[:128])
        return page(
            request,
            "request.html",
            404 if not records else 200,
            session=session,
            request_id=request_id[:128],
            records=records,
        )

    @router.get("/policy", response_class=HTMLResponse)
    async def policy_page(request: Request) -> Response:
        session = gate(request, "admin")
        if not isinstance(session, Session):
            return session
        tool = (request.query_params.get("tool") or "kubectl")[:16]
        command = (request.query_params.get("command") or "")[:2048]
        explained = _explain(state, tool, command) if command else None
        return page(
            request,
            "policy.html",
            session=session,
            policies=_policies(state),
            tool=tool,
            command=command,
            explained=explained,
            impact=None,
            impact_error=None,
            proposed="",
        )

    @router.post("/policy/impact", response_class=HTMLResponse)
    async def impact(
        request: Request,
        proposed: str = Form(default="", max_length=MAX_POLICY_TEXT),
        since: str = Form(default="7d", max_length=64),
        csrf: str = Form(default="", max_length=128),
    ) -> Response:
        session = gate(request, "admin", post=True, csrf=csrf)
        if not isinstance(session, Session):
            return session

        def policy_page(status: int, **shown: Any) -> HTMLResponse:
            context = {"tool": "kubectl", "command": "", "explained": None, "impact": None}
            context |= {"impact_error": None, "proposed": proposed, **shown}
            return page(request, "policy.html", status, session=session, policies=_policies(state), **context)

        try:
            new = compile_policy(proposed)
            start = parse_time(since) if since.strip() else None
        except PolicyError as exc:
            return policy_page(400, impact_error="\n".join(exc.problems))
        except ValueError as exc:
            return policy_page(400, impact_error=str(exc))
        old = state.policies.default.current()
        result = await _thread(
            lambda: replay(
                old, new, iter_records(chain_files(audit_log)), since=start, record_time=record_time
            )
        )
        return policy_page(200, impact=result)

    @router.get("/approvals", response_class=HTMLResponse)
    async def approvals(request: Request) -> Response:
        session = gate(request, "approver")
        if not isinstance(session, Session):
            return session
        store = getattr(state.pipeline, "approvals", None)
        if store is None:
            return page(request, "refused.html", 404, message="approvals are not configured", session=session)
        pending = await store.list(session.key, statuses=("pending",), limit=100)
        history = await store.list(
            session.key, statuses=("approved", "denied", "expired", "consumed"), limit=50
        )
        return page(request, "approvals.html", session=session, pending=pending, history=history, iso=_iso)

    @router.post("/approvals/{approval_id}", response_class=HTMLResponse)
    async def act(
        request: Request,
        approval_id: str,
        action: str = Form(default="", max_length=16),
        reason: str = Form(default="", max_length=2048),
        csrf: str = Form(default="", max_length=128),
    ) -> Response:
        session = gate(request, "approver", post=True, csrf=csrf)
        if not isinstance(session, Session):
            return session
        store = getattr(state.pipeline, "approvals", None)
        if store is None or action not in ("approve", "deny"):
            return page(
                request, "refused.html", 400, message="approve or deny a configured approval", session=session
            )
        try:
            await store.decide(
                approval_id[:64],
                session.key,
                approve=action == "approve",
                reason=reason.strip() or None,
                request_id=str(uuid.uuid4()),
                transport="rest",
                source_ip=request.client.host if request.client else None,
            )
        except ProxyError as exc:
            return page(request, "refused.html", exc.status, message=exc.message, session=session)
        return _redirect("/console/approvals")

    return router


def _iso(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_FILTERS = ("principal", "tool", "decision", "rule", "namespace", "cluster", "since", "until")


class _Refused(ProxyError):
    code = "forbidden_origin"
    status = 403


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(HEADERS)
    return response


def _cookie(response: Response, request: Request, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


async def _thread(func: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(func, *args)


def _policies(state: Any) -> list[dict[str, Any]]:
    return [tracked.describe() for tracked in state.policies.loaded()]


def _explain(state: Any, tool: str, command: str) -> dict[str, Any]:
    try:
        parsed = parse_command(tool, command)
    except ProxyError as exc:
        return {"error": exc.message}
    decision = evaluate(state.policies.default.current(), parsed)
    return {
        "error": None,
        "outcome": decision.outcome,
        "rule": decision.rule,
        "reason": decision.reason,
        "verb": parsed.verb,
        "class": parsed.command_class.value,
        "namespaces": ", ".join(parsed.namespaces) or "-",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
