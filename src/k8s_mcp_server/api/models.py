"""Request and response bodies: the REST contract of PRODUCT.md, validated at the trust boundary."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class ToolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(
        min_length=1,
        max_length=65536,
        description="The command, e.g. `get pods -n dev` (the tool name in front is optional). "
        "One invocation, optionally piped into allowed filters such as `| grep x`.",
        examples=["get pods -n default"],
    )
    kubeconfig: str | None = Field(
        default=None,
        description="Base64-encoded kubeconfig. Prefer the X-Kubeconfig header, which keeps it out of "
        "a model's context; the header wins when both are sent.",
    )
    namespace: str | None = Field(
        default=None,
        pattern=_NAMESPACE,
        description="Same as `-n` in the command; a different `-n` in the command is an error.",
    )
    timeout: float | None = Field(default=None, gt=0, description="Seconds; capped by the server's maximum.")
    cluster: str | None = Field(
        default=None,
        pattern=_NAMESPACE,
        description="One of the clusters the server holds by name (its clusters file); the policy says "
        "which ones the caller may use. Without it: the kubeconfig sent, or the server's default.",
    )
    approval_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Continue a request that needed an approval: send the same request again with the "
        "approval's id (from the 202 answer). Anything else that differs is refused.",
    )
    approval_wait: float | None = Field(
        default=None,
        ge=0,
        le=300,
        description="With approval_id: seconds to wait in this call for an approver's decision while the "
        "approval is pending (capped by the server).",
    )


class ToolResponse(BaseModel):
    success: bool = Field(description="The command exited 0 and did not time out.")
    output: str = Field(description="Standard output, redacted.")
    error: str | None = Field(description="Standard error, redacted; null when empty.")
    exit_code: int
    request_id: str
    redactions: int = Field(description="How many values the redactor replaced.")
    truncated: bool
    timed_out: bool
    duration_ms: float
    warnings: list[str] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    rule: str | None = None
    limit: str | None = None  # resource_limit: memory, cpu_time, open_files or processes


class ErrorBody(BaseModel):
    detail: ErrorDetail
