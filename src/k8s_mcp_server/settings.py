"""Server settings from `K8S_MCP_*` environment variables, read when the app is built, never at import."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from k8s_mcp_server.execute.argocd import valid_address

DEFAULT_PORT = 9096


class Settings(BaseSettings):
    """Everything the server is told from outside. Defaults are the safe choice."""

    # hide_input_in_errors: a refused setting's message must not print the token or the redaction key
    model_config = SettingsConfigDict(
        env_prefix="K8S_MCP_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    policy: Path = Path("policies/default.yaml")
    audit_log: Path = Path("audit/audit.jsonl")
    audit_fsync: bool = True
    audit_stdout: bool = False
    audit_max_bytes: int = Field(default=100 * 1024 * 1024, ge=0)  # rotate past this size; 0 = never
    # this process's chain name in every audit record (the chart: the pod's name), so the records of a
    # fleet merged by a collector split back into one chain per pod (`audit split`); unset: no field
    audit_chain_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    api_keys_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    allow_insecure_bind: bool = False  # serve a non-loopback address without API keys (warned about)

    command_timeout: float = Field(default=30.0, gt=0, le=3600)  # default per-request timeout, seconds
    # cap on a caller's `timeout`: a place (and a slot) is held that long at most; a watch the agent
    # needs longer is better re-run than holding a place for minutes
    max_command_timeout: float = Field(default=60.0, gt=0, le=3600)
    max_output_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # per stream
    max_concurrency: int = Field(default=16, ge=1)  # commands running at once
    max_queue: int = Field(default=32, ge=0)  # requests waiting for a slot before 429 busy
    # places (running + queued) one caller may hold: a principal, or an anonymous source address;
    # a quarter of the running slots, so one caller's watches leave the rest to everyone else
    max_per_caller: int = Field(default=4, ge=1)
    # how long a request waits for a place before 429 busy (with Retry-After): a few seconds
    admission_wait: float = Field(default=5.0, ge=0, le=60)
    max_command_length: int = Field(default=8192, ge=16)
    # provenance (redact/provenance.py): the values of the Secrets the request's kubeconfig can read
    # in the namespaces a command touches are scrubbed from its output in any shape and encoding;
    # read with that kubeconfig beside the command, cached per credential and namespace this long
    provenance: bool = True
    provenance_ttl: float = Field(default=30.0, gt=0, le=3600)
    # approvals (approvals/): where they are kept (default: approvals.sqlite3 beside the audit log, so
    # they survive a restart) and how long one request may wait in a call for an approver's decision
    approvals_db: Path | None = None
    approval_max_wait: float = Field(default=50.0, ge=0, le=300)

    # Limits of every process a command starts, the CLI and each filter (execute/limits.py):
    # data memory (RLIMIT_DATA; kubectl/helm need 64 MiB to start, `jq [range(6e7)]` 1.2 GiB), so 16
    # concurrent commands stay under 8 GiB per stage
    child_memory_bytes: int = Field(default=512 * 1024 * 1024, ge=16 * 1024 * 1024)
    # CPU seconds per process (a busy-looping filter is stopped; 2 cores x 60 s would be 120 s)
    child_cpu_seconds: int = Field(default=30, ge=1)
    # open files per process: kubectl uses ~10 (sockets, cache files); a leak stops at this
    child_open_files: int = Field(default=256, ge=16)
    # processes + threads of the server's user (the kernel counts RLIMIT_NPROC per user, and does not
    # apply it to root): a fork bomb in a child stops here; kubectl runs ~10-20 threads
    child_processes: int = Field(default=4096, ge=64)

    # Request bounds (api/connections.py, api/limits.py)
    max_body_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)  # a kubeconfig (256 KiB) + command fit
    max_header_bytes: int = Field(default=64 * 1024, ge=8 * 1024)  # request line + headers (X-Kubeconfig)
    request_read_timeout: float = Field(default=10.0, gt=0, le=300)  # to receive a whole request
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=300)  # idle connection between requests
    max_connections: int = Field(default=1024, ge=16)  # open connections in all
    max_connections_per_source: int = Field(default=64, ge=1)  # open connections per client address

    kubectl: Path | None = None
    helm: Path | None = None
    istioctl: Path | None = None
    argocd: Path | None = None

    # The operator's Argo CD API server (execute/argocd.py): given to argocd as ARGOCD_SERVER and
    # ARGOCD_AUTH_TOKEN, never taken from the caller. The token is best in a file (read at request
    # time, so rotation needs no restart); either the file or the variable, not both.
    argocd_server: str | None = None  # host[:port], no scheme
    argocd_auth_token_file: Path | None = None
    argocd_auth_token: SecretStr | None = None  # repr and logs show '**********'
    argocd_grpc_web: bool = False  # ARGOCD_OPTS --grpc-web (a proxy in front that speaks no HTTP/2)
    argocd_plaintext: bool = False  # ARGOCD_OPTS --plaintext (no TLS: an in-cluster server on :80)
    argocd_insecure: bool = False  # ARGOCD_OPTS --insecure (TLS without certificate verification)

    @field_validator("argocd_server")
    @classmethod
    def _argocd_address(cls, value: str | None) -> str | None:
        return valid_address(value) if value is not None else None

    @model_validator(mode="after")
    def _argocd_together(self) -> Settings:
        if self.argocd_auth_token is not None and self.argocd_auth_token_file is not None:
            raise ValueError("set K8S_MCP_ARGOCD_AUTH_TOKEN or K8S_MCP_ARGOCD_AUTH_TOKEN_FILE, not both")
        needs_server = {
            "ARGOCD_AUTH_TOKEN": self.argocd_auth_token is not None,
            "ARGOCD_AUTH_TOKEN_FILE": self.argocd_auth_token_file is not None,
            "ARGOCD_GRPC_WEB": self.argocd_grpc_web,
            "ARGOCD_PLAINTEXT": self.argocd_plaintext,
            "ARGOCD_INSECURE": self.argocd_insecure,
        }
        orphans = [f"K8S_MCP_{name}" for name, given in needs_server.items() if given]
        if orphans and self.argocd_server is None:
            verb = "needs" if len(orphans) == 1 else "need"
            raise ValueError(f"{', '.join(orphans)} {verb} K8S_MCP_ARGOCD_SERVER (the Argo CD API server)")
        return self

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
    # Shared state of replicas (state/): a postgresql:// URL; the rate-limit buckets then hold across
    # every server on that database. Unset: per-process buckets, SQLite beside the audit log for the
    # other state. A SecretStr: the URL carries the password (repr and errors show '**********').
    database_url: SecretStr | None = None

    @field_validator("denied_server_networks")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            ipaddress.ip_network(net, strict=False)
        return value

    # Identity and transport protection (docs/identity.md)
    # tool calls per principal (anonymous: per source address) per minute, bursts of as many; 0 = off.
    # 120: an agent's tool calls rarely exceed one a second, a flood is held to two a second
    rate_limit_per_minute: int = Field(default=120, ge=0)
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

    # OAuth 2.1 resource server and per-user cluster identity (identity/, docs/identity.md).
    # This server's resource identifier (RFC 8707/9728), e.g. https://mcp.example.com/mcp: a token's
    # `aud` must name it. Setting it (with at least one issuer) turns bearer-token validation on.
    oauth_resource: str | None = None
    # Trusted issuers, comma-separated; each one's metadata (RFC 8414, then OIDC discovery) names its
    # JWKS. https only, except http on a loopback address (a local test issuer).
    oauth_issuers: Annotated[tuple[str, ...], NoDecode] = ()
    # A static JWKS file instead of discovery (exactly one issuer then); re-read when it changes.
    oauth_jwks_file: Path | None = None
    # Signature algorithms accepted; `none` and the HMAC family (HS*) are refused at start.
    oauth_algorithms: Annotated[tuple[str, ...], NoDecode] = ("RS256", "PS256", "ES256", "EdDSA")
    oauth_required_scopes: Annotated[tuple[str, ...], NoDecode] = ()  # each token must carry all of them
    oauth_principal_claim: str = "sub"  # the claim that names the principal
    oauth_groups_claim: str = "groups"  # the claim that lists the principal's groups
    oauth_leeway: float = Field(default=30.0, ge=0, le=300)  # clock skew allowed on exp/nbf/iat, seconds
    # An unknown `kid` re-fetches the issuer's JWKS at most this often (a flood of made-up kids must not
    # become a flood of fetches); keys are also re-fetched an hour after the last fetch.
    oauth_jwks_min_refetch: float = Field(default=10.0, ge=0, le=3600)
    # policies by principal or group for token callers (hot-reloaded; broken = token callers refused)
    identity_map_file: Path | None = None
    # caller-kubeconfig: each request sends its kubeconfig (today's behaviour). impersonate: the server's
    # own credential (DEFAULT_KUBECONFIG or IN_CLUSTER) runs every command as the authenticated principal
    # and its groups; a caller's kubeconfig is refused.
    identity_mode: Literal["caller-kubeconfig", "impersonate"] = "caller-kubeconfig"
    # prepended to the impersonated user and each group (like kube-apiserver's --oidc-username-prefix),
    # e.g. "oidc:"; `system:` names are refused either way
    impersonate_user_prefix: str = ""
    impersonate_group_prefix: str = ""
    # named clusters the server holds (identity/clusters.py): a request picks one with `cluster`
    clusters_file: Path | None = None

    @field_validator("oauth_issuers", "oauth_algorithms", "oauth_required_scopes", mode="before")
    @classmethod
    def _oauth_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.replace(" ", ",").split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _identity_together(self) -> Settings:
        from k8s_mcp_server.identity.config import check_identity_settings

        check_identity_settings(self)
        return self
