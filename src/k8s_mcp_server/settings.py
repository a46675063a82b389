"""Server settings from `K8S_MCP_*` environment variables, read when the app is built, never at import."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PORT = 9096


class Settings(BaseSettings):
    """Everything the server is told from outside. Defaults are the safe choice."""

    model_config = SettingsConfigDict(env_prefix="K8S_MCP_", extra="ignore", frozen=True)

    policy: Path = Path("policies/default.yaml")
    audit_log: Path = Path("audit/audit.jsonl")
    audit_fsync: bool = True
    audit_stdout: bool = False
    audit_max_bytes: int = Field(default=100 * 1024 * 1024, ge=0)  # rotate past this size; 0 = never
    api_keys_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    allow_insecure_bind: bool = False  # serve a non-loopback address without API keys (warned about)

    command_timeout: float = Field(default=30.0, gt=0, le=3600)  # default per-request timeout, seconds
    max_command_timeout: float = Field(default=300.0, gt=0, le=3600)  # cap on a caller's `timeout`
    max_output_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # per stream
    max_concurrency: int = Field(default=16, ge=1)  # commands running at once
    max_queue: int = Field(default=32, ge=0)  # requests waiting for a slot before 429 busy
    max_command_length: int = Field(default=8192, ge=16)

    kubectl: Path | None = None
    helm: Path | None = None
    istioctl: Path | None = None
    argocd: Path | None = None

    default_kubeconfig: Path | None = None  # server-side kubeconfig used when the caller sends none
    allow_proxy_url: bool = False
    allow_insecure_tls: bool = False
    denied_server_networks: tuple[str, ...] = (
        "169.254.0.0/16",  # link-local, cloud metadata (AWS/GCP/Azure 169.254.169.254)
        "fe80::/10",
        "100.100.100.200/32",  # Alibaba metadata
        "fd00:ec2::254/128",  # AWS IMDS over IPv6
    )
    work_dir: Path | None = None  # per-request workspaces; default /dev/shm (unless TMPDIR is set)
    redaction_key: str | None = None  # HMAC key for redaction placeholders; random per process if unset

    @field_validator("denied_server_networks")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value

    # Identity and transport protection (docs/identity.md)
    rate_limit_per_minute: int = Field(default=0, ge=0)  # per principal; 0 = off
    # Host header values accepted (DNS rebinding); unset = loopback names with and without the port.
    # Comma-separated in the environment; `name:*` allows any port.
    allowed_hosts: Annotated[tuple[str, ...] | None, NoDecode] = None
    # Origin header values accepted; requests without Origin are fine, any other Origin is refused.
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    # Server-side default kubeconfig from the pod's service account (docs: kubeconfig/default.py);
    # off by default, used only when the caller sent none; exclusive with `default_kubeconfig`.
    in_cluster: bool = False
    service_account_dir: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount")
