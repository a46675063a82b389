"""Console sessions: a random id in a cookie (HttpOnly, SameSite=Strict, Secure under TLS), the session
itself (principal, roles, CSRF token, expiry) held by the server, bounded in number and in time.

A sign-in is a form post with an API key; its own CSRF token comes from a short-lived pre-session
cookie (double submit), so a page elsewhere cannot sign a browser in under the attacker's key.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

COOKIE = "k8s_mcp_console"
LOGIN_COOKIE = "k8s_mcp_console_login"
IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 60 * 60
MAX_SESSIONS = 1024


@dataclass
class Session:
    principal: str
    roles: frozenset[str]
    key: Any = None  # the API key entry signed in with (acts such as approving are done as it)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """In-memory sessions of one server process (a restart signs everyone out; nothing is on disk)."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def start(self, principal: str, roles: frozenset[str], key: Any = None) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        session = Session(principal=principal, roles=roles, key=key)
        self._by_id[sid] = session
        while len(self._by_id) > MAX_SESSIONS:
            self._by_id.popitem(last=False)
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._by_id.get(sid)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > IDLE_SECONDS or now - session.started > MAX_SECONDS:
            del self._by_id[sid]
            return None
        session.seen = now
        self._by_id.move_to_end(sid)
        return session

    def end(self, sid: str | None) -> None:
        if sid:
            self._by_id.pop(sid, None)


FAILED_SIGN_INS = 10  # per source address and window: enough for typos, too few to guess keys
SIGN_IN_WINDOW = 60.0
MAX_SOURCES = 4096


class SignInAttempts:
    """Failed sign-ins per source address in a sliding window; bounded in the addresses it keeps."""

    def __init__(self) -> None:
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, source: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._failures.get(source, []) if now - t < SIGN_IN_WINDOW]
        if recent:
            self._failures[source] = recent
        else:
            self._failures.pop(source, None)
        return len(recent) < FAILED_SIGN_INS

    def failed(self, source: str) -> None:
        self._failures.setdefault(source, []).append(time.monotonic())
        self._failures.move_to_end(source)
        while len(self._failures) > MAX_SOURCES:
            self._failures.popitem(last=False)
