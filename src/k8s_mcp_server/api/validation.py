"""Schema errors that never carry what the caller sent.

pydantic's and FastAPI's errors echo the input (`input`, `ctx`, sometimes `msg`), jsonschema's name
the offending value: a kubeconfig passed under a wrong argument name came back whole, into a model's
context. Here a problem names only a field of our own schema (never an unknown key, which is input
too) and says what was expected, from a fixed table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from k8s_mcp_server.api.models import ToolRequest
from k8s_mcp_server.errors import ProxyError


class InvalidArguments(ProxyError):
    """The request body or tool arguments do not fit the schema (REST 422, an MCP tool error)."""

    code = "invalid_arguments"
    status = 422

    def __init__(self, message: str, problems: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(message)
        self.problems = [dict(p) for p in problems]


# pydantic error type -> what was expected (never the value found)
_EXPECTED = {
    "missing": "is required",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "does not have the expected form",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a number",
    "int_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
}


def safe_problems(errors: Iterable[Mapping[str, Any]], fields: Iterable[str]) -> list[dict[str, Any]]:
    """One entry per error: `loc` (our field names only), `type`, `msg`; no input value anywhere."""
    known = frozenset(fields)
    problems: list[dict[str, Any]] = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "body"]
        kind = str(error.get("type", ""))
        name = loc[0] if loc and isinstance(loc[0], str) and loc[0] in known else None
        if kind == "extra_forbidden" or (loc and name is None and kind != "json_invalid"):
            msg = f"unknown argument (accepted: {', '.join(sorted(known))})"
            problems.append({"loc": ["body"], "type": "extra_forbidden", "msg": msg})
            continue
        if kind == "json_invalid":
            problems.append({"loc": ["body"], "type": kind, "msg": "the body is not valid JSON"})
            continue
        if name is None:
            msg = "the arguments must be a JSON object"
            problems.append({"loc": ["body"], "type": "model_type", "msg": msg})
            continue
        bound = (error.get("ctx") or {}).get("max_length" if kind == "string_too_long" else "gt")
        if kind == "string_too_long":  # the bounds come from our schema, never from the input
            expected = f"is longer than {bound} characters" if isinstance(bound, int) else "is too long"
        elif kind == "greater_than":
            expected = f"must be greater than {bound}" if isinstance(bound, int | float) else "is too small"
        else:
            expected = _EXPECTED.get(kind, "is not valid")
        problems.append({"loc": ["body", name], "type": kind, "msg": f"`{name}` {expected}"})
    unique: list[dict[str, Any]] = []
    for problem in problems:
        if problem not in unique:
            unique.append(problem)
    return unique


def invalid_arguments(problems: Sequence[Mapping[str, Any]]) -> InvalidArguments:
    summary = "; ".join(str(p["msg"]) for p in problems) or "the arguments do not fit the schema"
    return InvalidArguments(f"invalid arguments: {summary}", problems)


_M = TypeVar("_M", bound=BaseModel)


def validate_model(model: type[_M], data: object) -> _M:
    """`model` from untrusted `data`; raises InvalidArguments whose text holds no input value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=True)
        raise invalid_arguments(safe_problems(errors, model.model_fields)) from None


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for a body that does not fit, without the `input` FastAPI would echo."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    problems = safe_problems(errors, ToolRequest.model_fields)
    error = invalid_arguments(problems)
    detail = {"code": error.code, "message": error.message, "problems": error.problems}
    return JSONResponse(status_code=error.status, content={"detail": detail})
