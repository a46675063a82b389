"""Secret samples placed in ordinary command output, for the coverage test and bench/bench_recall.py.

The samples are `../shared/data/secrets/samples.yaml` beside the repository (never copied into it): real
looking secrets of 146 providers (`true_positives`, each with the `parts` that must not survive),
benign values that look random (`true_negatives`, which must come back unchanged) and 21 benign outputs
(`goldens`, byte-identical). Each placement puts one value into one kind of output the way kubectl, helm
or a container would print it, together with the command that printed it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from k8s_mcp_server.contracts import ParsedCommand, RawOutput
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.redact import Redactor

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "secrets" / "samples.yaml"
SELF_IDENTIFYING = frozenset(
    {"prefixed", "jwt", "private-key", "url-credentials", "connection-string", "structured-json"}
)


@cache
def samples() -> dict[str, Any] | None:
    """The shared samples, or None when they are not beside the repository."""
    if not SAMPLES.exists():
        return None
    data: dict[str, Any] = yaml.safe_load(SAMPLES.read_text(encoding="utf-8"))
    return data


def _yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, width=1 << 20, allow_unicode=True)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def _meta(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    meta = {
        "creationTimestamp": "2024-11-20T08:01:12Z",
        "name": name,
        "namespace": "payments",
        "resourceVersion": "40021877",
        "uid": "5b7d9f1a-3c5e-4b7d-9f1a-3c5e7b9d2f4a",
    }
    meta.update(extra)
    return {"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind, "metadata": meta}


def _configmap(key: str, value: str) -> dict[str, Any]:
    obj = _meta("ConfigMap", "payments-config")
    obj["data"] = {"log-level": "info", key: value}
    return obj


def _pod(name: str, value: str) -> dict[str, Any]:
    obj = _meta("Pod", "payments-api-7c9d8f6b5d-x2kqz")
    obj["spec"] = {
        "containers": [
            {
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": name, "value": value}],
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:2024.11.3",
                "name": "api",
                "volumeMounts": [{"mountPath": "/etc/tls", "name": "tls", "readOnly": True}],
            }
        ],
        "imagePullSecrets": [{"name": "ecr-pull"}],
        "volumes": [{"name": "tls", "secret": {"defaultMode": 420, "secretName": "payments-api-tls"}}],
    }
    return obj


def _indent(value: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in value.split("\n"))


def _describe_cm(key: str, value: str) -> str:
    head = (
        "Name:         payments-config\nNamespace:    payments\nLabels:       <none>\nAnnotations:  <none>\n"
    )
    data = f"\nData\n====\nlog-level:\n----\ninfo\n\n{key}:\n----\n{value}\n\n"
    return head + data + "\nBinaryData\n====\n\nEvents:  <none>\n"


def _describe_pod(name: str, value: str) -> str:
    return (
        "Name:             payments-api-7c9d8f6b5d-x2kqz\nNamespace:        payments\n"
        "Containers:\n  api:\n    Image:          registry.example.com/payments/api:2024.11.3\n"
        "    Environment:\n      LOG_LEVEL:  info\n"
        f"      {name}:  {value}\n"
        "      DB_PASSWORD:  <set to the key 'password' in secret 'payments-db'>  Optional: false\n"
        "    Mounts:\n      /etc/tls from tls (ro)\n"
        "Volumes:\n  tls:\n    Type:        Secret (a volume populated by a Secret)\n"
        "    SecretName:  payments-api-tls\n    Optional:    false\n"
        "Events:                      <none>\n"
    )


def _helm_values(key: str, value: str) -> str:
    values = {
        "api": {"image": {"repository": "registry.example.com/payments/api", "tag": "2024.11.3"}},
        "auth": {"enabled": True, "existingSecret": "payments-db", key: value},
    }
    return "USER-SUPPLIED VALUES:\n" + _yaml(values)


def _secret(value: str) -> dict[str, Any]:
    obj = _meta("Secret", "payments-db")
    obj["data"] = {"value": base64.b64encode(value.encode()).decode()}
    obj["type"] = "Opaque"
    return obj


def _log_plain(value: str) -> str:
    return (
        "2024-11-20T08:01:19.118Z INFO  starting payments-api version=2024.11.3\n"
        f"2024-11-20T08:01:19.301Z INFO  loaded upstream configuration {value}\n"
        "2024-11-20T08:01:19.552Z INFO  listening on :8080\n"
    )


def _log_json(key: str, value: str) -> str:
    line = {"level": "info", "ts": "2024-11-20T08:01:19.301Z", "msg": "configured upstream", key: value}
    return '{"level":"info","msg":"starting"}\n' + json.dumps(line, ensure_ascii=False) + "\n"


def _stack_trace(value: str) -> str:
    return (
        "2024-11-20 08:01:19.301 ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed\n"
        "java.lang.IllegalStateException: upstream rejected request\n"
        f"\tat com.example.payments.Client.call(Client.java:88) [{value}]\n"
        "\tat com.example.payments.Main.main(Main.java:12)\n"
        f"Caused by: java.io.IOException: Server returned HTTP response code: 401 for {value}\n"
    )


def _log_kv(key: str, value: str) -> str:
    shown = json.dumps(value) if any(c in value for c in ' \n"') else value  # klog quotes such values
    return f"I1120 08:01:19.301122       1 client.go:162] configured upstream {key}={shown} retry=3\n"


def _properties(key: str, value: str) -> dict[str, Any]:
    props = f"server.port=8080\nupstream.url=https://api.example.com\n{key}={value}\nfeature.x=enabled\n"
    return _configmap("application.properties", props)


def _last_applied(key: str, value: str) -> dict[str, Any]:
    obj = _configmap(key, value)
    applied = json.dumps(obj, separators=(",", ":"), sort_keys=True)
    obj["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": applied + "\n"}
    return obj


def _events(value: str) -> str:
    message = value.replace("\n", " ")
    pod = "pod/payments-api-7c9d8f6b5d-x2kqz"
    return (
        "LAST SEEN   TYPE      REASON      OBJECT                              MESSAGE\n"
        f"3m          Normal    Scheduled   {pod}   Successfully assigned payments\n"
        f"2m          Warning   Failed      {pod}   Error: upstream rejected {message}\n"
    )


def _manifest(value: str) -> str:
    return "---\n# Source: payments/templates/configmap.yaml\n" + _yaml(_configmap(INNOCUOUS, value))


@dataclass(frozen=True)
class Placement:
    """One kind of output a value can be placed in."""

    name: str
    secret_name: bool  # the value sits under a secret-looking name
    tool: str
    command: str
    build: Callable[[str], str]
    secret_data: bool = False


INNOCUOUS = "upstream-config"
SECRET_KEY = "api_token"

PLACEMENTS: tuple[Placement, ...] = (
    Placement(
        "configmap-yaml",
        False,
        "kubectl",
        "get cm payments-config -o yaml",
        lambda v: _yaml(_configmap(INNOCUOUS, v)),
    ),
    Placement(
        "configmap-json",
        False,
        "kubectl",
        "get cm payments-config -o json",
        lambda v: _json(_configmap(INNOCUOUS, v)),
    ),
    Placement(
        "configmap-yaml-secret-name",
        True,
        "kubectl",
        "get cm payments-config -o yaml",
        lambda v: _yaml(_configmap(SECRET_KEY, v)),
    ),
    Placement(
        "configmap-json-secret-name",
        True,
        "kubectl",
        "get cm payments-config -o json",
        lambda v: _json(_configmap("DB_PASSWORD", v)),
    ),
    Placement(
        "env-yaml",
        False,
        "kubectl",
        "get pod payments-api-7c9d8f6b5d-x2kqz -o yaml",
        lambda v: _yaml(_pod("UPSTREAM_CONFIG", v)),
    ),
    Placement(
        "env-yaml-secret-name",
        True,
        "kubectl",
        "get pod payments-api-7c9d8f6b5d-x2kqz -o yaml",
        lambda v: _yaml(_pod("STRIPE_API_KEY", v)),
    ),
    Placement(
        "env-json-secret-name",
        True,
        "kubectl",
        "get pod payments-api-7c9d8f6b5d-x2kqz -o json",
        lambda v: _json(_pod("AUTH_TOKEN", v)),
    ),
    Placement(
        "annotation-yaml",
        False,
        "kubectl",
        "get deploy payments-api -o yaml",
        lambda v: _yaml(_meta("Deployment", "payments-api", annotations={"example.com/upstream": v})),
    ),
    Placement("log-plain", False, "kubectl", "logs payments-api-7c9d8f6b5d-x2kqz", _log_plain),
    Placement(
        "log-json", False, "kubectl", "logs payments-api-7c9d8f6b5d-x2kqz", lambda v: _log_json("upstream", v)
    ),
    Placement(
        "log-json-secret-name",
        True,
        "kubectl",
        "logs payments-api-7c9d8f6b5d-x2kqz",
        lambda v: _log_json("apiKey", v),
    ),
    Placement(
        "log-kv-secret-name",
        True,
        "kubectl",
        "logs payments-api-7c9d8f6b5d-x2kqz",
        lambda v: _log_kv("client_secret", v),
    ),
    Placement("stack-trace", False, "kubectl", "logs payments-api-7c9d8f6b5d-x2kqz", _stack_trace),
    Placement(
        "describe-cm", False, "kubectl", "describe cm payments-config", lambda v: _describe_cm(INNOCUOUS, v)
    ),
    Placement(
        "describe-cm-secret-name",
        True,
        "kubectl",
        "describe cm payments-config",
        lambda v: _describe_cm("api-token", v),
    ),
    Placement(
        "describe-pod-env-secret-name",
        True,
        "kubectl",
        "describe pod payments-api-7c9d8f6b5d-x2kqz",
        lambda v: _describe_pod("API_TOKEN", v),
    ),
    Placement("helm-values", False, "helm", "get values payments", lambda v: _helm_values("upstream", v)),
    Placement(
        "helm-values-secret-name", True, "helm", "get values payments", lambda v: _helm_values("password", v)
    ),
    Placement(
        "env-json",
        False,
        "kubectl",
        "get pod payments-api-7c9d8f6b5d-x2kqz -o json",
        lambda v: _json(_pod("UPSTREAM_CONFIG", v)),
    ),
    Placement(
        "configmap-properties",
        False,
        "kubectl",
        "get cm payments-config -o yaml",
        lambda v: _yaml(_properties("upstream.config", v)),
    ),
    Placement(
        "configmap-properties-secret-name",
        True,
        "kubectl",
        "get cm payments-config -o yaml",
        lambda v: _yaml(_properties("spring.datasource.password", v)),
    ),
    Placement(
        "last-applied-json-secret-name",
        True,
        "kubectl",
        "get cm payments-config -o json",
        lambda v: _json(_last_applied("DB_PASSWORD", v)),
    ),
    Placement("events-table", False, "kubectl", "get events -n payments", _events),
    Placement("helm-manifest", False, "helm", "get manifest payments", _manifest),
    Placement(
        "secret-data-yaml",
        True,
        "kubectl",
        "get secret payments-db -o yaml",
        lambda v: _yaml(_secret(v)),
        True,
    ),
    Placement(
        "secret-data-json",
        True,
        "kubectl",
        "get secret payments-db -o json",
        lambda v: _json(_secret(v)),
        True,
    ),
)


@dataclass(frozen=True)
class Outcome:
    placement: str
    sample: str
    provider: str
    kind: str
    removed: bool  # true positives: no part survived; true negatives: the output is unchanged


def _forms(part: str) -> set[str]:
    """The ways a part can appear in an output: raw, JSON-escaped, base64 (Secret data)."""
    return {part, json.dumps(part, ensure_ascii=False)[1:-1]}


def redact(redactor: Redactor, placement: Placement, text: str) -> str:
    parsed: ParsedCommand = parse_command(placement.tool, placement.command)
    raw = RawOutput(stdout=text.encode(), stderr=b"", exit_code=0, duration_ms=1.0)
    return redactor.redact(raw, parsed=parsed).stdout


def true_positive_outcomes(redactor: Redactor) -> Iterator[Outcome]:
    data = samples()
    assert data is not None
    for sample in data["true_positives"]:
        for placement in PLACEMENTS:
            text = placement.build(sample["value"])
            out = redact(redactor, placement, text)
            parts: list[str] = list(sample["parts"])
            if placement.secret_data:
                parts.append(base64.b64encode(sample["value"].encode()).decode())
            removed = not any(form in out for part in parts for form in _forms(part))
            yield Outcome(placement.name, sample["id"], sample["provider"], sample["kind"], removed)


def true_negative_outcomes(redactor: Redactor) -> Iterator[Outcome]:
    data = samples()
    assert data is not None
    for sample in data["true_negatives"]:
        for placement in PLACEMENTS:
            if placement.secret_name:
                continue  # a benign value under DB_PASSWORD is redacted by design
            text = placement.build(sample["value"])
            unchanged = redact(redactor, placement, text) == text
            yield Outcome(placement.name, sample["id"], sample["category"], "benign", unchanged)


def golden_outcomes(redactor: Redactor) -> Iterator[tuple[str, bool]]:
    data = samples()
    assert data is not None
    for golden in data["goldens"]:
        placement = Placement("golden", False, golden["tool"], golden["command"], str)
        yield golden["id"], redact(redactor, placement, golden["text"]) == golden["text"]
