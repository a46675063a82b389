"""One log line per tool request: who, which tool, what the policy said, the code, how long it took.

Logger `k8s_mcp_server.requests`; `serve` gives it its own handler (`configure`): JSON objects when
stderr is not a terminal (a log collector reads them), a short line when it is. A line never holds the
command, the kubeconfig or any other value the caller sent: only our own names, codes and numbers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.pipeline import Completed, PolicyDenied

log = logging.getLogger("k8s_mcp_server.requests")


def ran(request: CommandRequest, done: Completed, seconds: float) -> None:
    decision = done.decision
    _emit(
        request,
        decision=decision.outcome if decision else "allow",
        rule=decision.rule if decision else None,
        code="timed_out" if done.output.timed_out else None,
        exit_code=done.output.exit_code,
        seconds=seconds,
    )


def refused(request: CommandRequest, exc: ProxyError, seconds: float) -> None:
    _emit(
        request,
        # a command waiting for an approver (approvals/) was not refused: it is pending
        decision="deny"
        if isinstance(exc, PolicyDenied)
        else "approve"
        if exc.code == "approval_pending"
        else "rejected",
        rule=exc.rule if isinstance(exc, PolicyDenied) else None,
        code=exc.code,
        exit_code=None,
        seconds=seconds,
    )


def _emit(
    request: CommandRequest,
    *,
    decision: str,
    rule: str | None,
    code: str | None,
    exit_code: int | None,
    seconds: float,
) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {
        "request_id": request.request_id,
        "transport": request.transport,
        "principal": request.principal,
        "tool": request.tool,
        "decision": decision,
        "rule": rule,
        "code": code,
        "exit_code": exit_code,
        "duration_ms": round(seconds * 1000, 1),
    }
    log.info("request", extra={"request_fields": fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        body.update(getattr(record, "request_fields", {}))
        return json.dumps(body, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request_fields", {})
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [stamp, str(fields.get("tool") or "-"), str(fields.get("decision"))]
        for key in ("rule", "code", "exit_code"):
            if fields.get(key) is not None:
                parts.append(f"{key}={fields[key]}")
        parts.append(f"{fields.get('duration_ms')} ms")
        parts.append(f"{fields.get('transport')}/{fields.get('principal')} {fields.get('request_id')}")
        return " ".join(parts)


def configure(stream: TextIO | None = None) -> logging.Handler:
    """Send request lines to `stream` (stderr): JSON unless it is a terminal. Idempotent."""
    stream = stream or sys.stderr
    for handler in log.handlers:
        log.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if stream.isatty() else JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # its own format; and one line per request is wanted, never de-duplicated
    return handler
