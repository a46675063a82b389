"""The chart as the pinned helm renders it: lint, the objects, the restricted Pod Security Standard,
the RBAC of each identity mode, probes, NetworkPolicy, and the values schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_mcp_server.identity.impersonate import REQUEST_ID_EXTRA
from tests.charts.render import CHART, IMPERSONATION, helm, kinds, one, render, values_file
from tests.charts.restricted import pod_specs, violations
from tests.support.clibin import REPO

NON_DEFAULT: dict[str, Any] = {
    "replicaCount": 3,
    "image": {"repository": "registry.example/k8s-mcp-server", "tag": "1.2.3", "uid": 20000},
    "service": {"port": 8080},
    "allowedHosts": ["mcp.example.com", "mcp.example.com:*"],
    "allowedOrigins": ["https://console.example.com"],
    "policies": {
        "default": "reads.yaml",
        "files": {
            "reads.yaml": "version: 1\nrules:\n  - id: reads\n    effect: allow\n    verbs: ['*']\n",
            "ci-bot.yaml": "version: 1\nrules: []\n",
        },
    },
    "apiKeys": {
        "keys": [{"principal": "ci-bot", "sha256": "a" * 64, "policy": "/etc/k8s-mcp/policies/ci-bot.yaml"}]
    },
    "database": {"existingSecret": "mcp-db", "key": "url"},
    "impersonation": {"enabled": True, "groups": ["developers", "sre"], "users": []},
    "autoscaling": {"enabled": False},
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": "50%"},
    "networkPolicy": {
        "enabled": True,
        "ingressNamespaces": ["agents", "ci"],
        "apiServers": [{"cidr": "10.0.0.10/32", "ports": [6443]}, {"cidr": "192.168.5.0/24"}],
    },
    "serviceMonitor": {"enabled": True, "authorization": {"secretName": "scrape-key", "key": "api-key"}},
    "extraEnv": [{"name": "K8S_MCP_MAX_OUTPUT_BYTES", "value": "1048576"}],
}


def env_of(documents: list[dict[str, Any]]) -> dict[str, Any]:
    container = one(documents, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_helm_lint_is_clean_for_the_default_and_non_default_values(tmp_path: Path) -> None:
    for values in ({}, NON_DEFAULT, IMPERSONATION):
        args = ["lint", "--strict", str(CHART)]
        if values:
            args += ["-f", str(values_file(tmp_path, values))]
        out = helm(*args, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[WARNING]" not in out.stdout and "[ERROR]" not in out.stdout, out.stdout


def test_default_values_render_every_object_of_the_fleet_and_no_rbac(tmp_path: Path) -> None:
    docs = render(tmp_path)
    assert kinds(docs) == [
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "Pod",
        "PodDisruptionBudget", "Secret", "Service", "ServiceAccount",
    ]  # fmt: skip
    assert one(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    env = env_of(docs)
    assert "K8S_MCP_IDENTITY_MODE" not in env and "K8S_MCP_IN_CLUSTER" not in env


def test_impersonation_mode_grants_exactly_impersonate_on_users_and_groups(tmp_path: Path) -> None:
    docs = render(tmp_path, IMPERSONATION)
    rbac = [d for d in docs if d["apiVersion"].startswith("rbac.authorization.k8s.io/")]
    assert kinds(rbac) == ["ClusterRole", "ClusterRoleBinding"]
    role, binding = one(rbac, "ClusterRole"), one(rbac, "ClusterRoleBinding")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
        {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"]},
        # the request id the server adds as a user extra (identity/impersonate.py REQUEST_ID_EXTRA)
        {
            "apiGroups": ["authentication.k8s.io"],
            "resources": [f"userextras/{REQUEST_ID_EXTRA}"],
            "verbs": ["impersonate"],
        },
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "t-k8s-mcp-server", "namespace": "mcp"}]
    assert one(docs, "ServiceAccount")["automountServiceAccountToken"] is True
    env = env_of(docs)
    assert env["K8S_MCP_IDENTITY_MODE"] == "impersonate" and env["K8S_MCP_IN_CLUSTER"] == "true"


def test_impersonation_can_be_narrowed_to_named_users_and_groups(tmp_path: Path) -> None:
    docs = render(tmp_path, {"impersonation": {"enabled": True, "users": ["alice"], "groups": ["sre"]}})
    rules = one(docs, "ClusterRole")["rules"]
    assert [r.get("resourceNames") for r in rules] == [["alice"], ["sre"], None]


@pytest.mark.parametrize(
    "values", [{}, IMPERSONATION, NON_DEFAULT], ids=["default", "impersonation", "non-default"]
)
def test_every_rendered_pod_passes_the_restricted_pod_security_standard(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    specs = dict(pod_specs(render(tmp_path, values)))
    assert sorted(specs) == ["Deployment/t-k8s-mcp-server", "Pod/t-k8s-mcp-server-test"]
    for name, spec in specs.items():
        assert violations(spec) == [], name


def test_the_restricted_checker_finds_each_kind_of_violation() -> None:
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    assert violations(good) == []
    bad: list[tuple[str, dict[str, Any]]] = [
        ("hostNetwork", {"hostNetwork": True}),
        ("hostPath", {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}),
        (
            "privileged",
            {
                "containers": [
                    {
                        "name": "c",
                        "securityContext": {**good["containers"][0]["securityContext"], "privileged": True},
                    }
                ]
            },
        ),
        (
            "allowPrivilegeEscalation",
            {"containers": [{"name": "c", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]},
        ),
        ("drop ALL", {"containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}]}),
        ("runAsNonRoot", {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}),
        ("seccomp", {"securityContext": {"runAsNonRoot": True}}),
        ("runAsUser 0", {"securityContext": {**good["securityContext"], "runAsUser": 0}}),
        (
            "hostPort",
            {"containers": [{**good["containers"][0], "ports": [{"containerPort": 80, "hostPort": 80}]}]},
        ),
    ]
    for what, change in bad:
        assert violations({**good, **change}), what


def test_the_root_filesystem_is_read_only_and_every_writable_path_is_an_emptydir(tmp_path: Path) -> None:
    spec = one(render(tmp_path), "Deployment")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in spec["volumes"]}
    writable = {
        m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"] if not m.get("readOnly")
    }
    assert {path: sorted(set(v) - {"name"}) for path, v in writable.items()} == {
        "/var/lib/k8s-mcp/audit": ["emptyDir"],
        "/var/run/k8s-mcp/work": ["emptyDir"],
        "/tmp": ["emptyDir"],
    }
    assert volumes["work"]["emptyDir"]["medium"] == "Memory"  # the callers' kubeconfigs never reach a disk
    env = env_of([{"kind": "Deployment", **one(render(tmp_path), "Deployment")}])
    assert env["K8S_MCP_WORK_DIR"] == "/var/run/k8s-mcp/work"
    assert env["HOME"] == "/tmp"
    assert env["K8S_MCP_AUDIT_LOG"].startswith("/var/lib/k8s-mcp/audit/")
    assert env["K8S_MCP_AUDIT_CHAIN_ID"] == "$(POD_NAME)"  # one chain per pod, named in every record
    assert env["K8S_MCP_AUDIT_STDOUT"] == "true"


def test_policies_and_keys_are_mounted_as_whole_directories_so_the_kubelet_can_update_them(
    tmp_path: Path,
) -> None:
    spec = one(render(tmp_path, NON_DEFAULT), "Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert "subPath" not in mounts["policies"] and "subPath" not in mounts["keys"]
    env = env_of(render(tmp_path, NON_DEFAULT))
    assert env["K8S_MCP_POLICY"] == mounts["policies"]["mountPath"] + "/reads.yaml"
    assert env["K8S_MCP_API_KEYS_FILE"] == mounts["keys"]["mountPath"] + "/keys.yaml"
    configmap = one(render(tmp_path, NON_DEFAULT), "ConfigMap")
    assert sorted(configmap["data"]) == ["ci-bot.yaml", "reads.yaml"]


def test_the_shipped_default_policy_is_the_repositorys(tmp_path: Path) -> None:
    configmap = one(render(tmp_path), "ConfigMap")
    assert (
        configmap["data"]["default.yaml"].strip() == (REPO / "policies" / "default.yaml").read_text().strip()
    )
    assert (CHART / "files" / "policies" / "default.yaml").read_bytes() == (
        REPO / "policies" / "default.yaml"
    ).read_bytes()


def test_no_keys_renders_an_empty_keys_file_so_every_call_is_refused(tmp_path: Path) -> None:
    import yaml

    secrets = [
        d for d in render(tmp_path) if d["kind"] == "Secret" and "keys.yaml" in d.get("stringData", {})
    ]
    assert len(secrets) == 1
    assert yaml.safe_load(secrets[0]["stringData"]["keys.yaml"]) == {"keys": []}


def test_probes_use_livez_for_liveness_and_health_for_readiness_with_an_allowed_host(tmp_path: Path) -> None:
    for values, port in (({}, 9096), (NON_DEFAULT, 8080)):
        docs = render(tmp_path, values)
        container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
        allowed = env_of(docs)["K8S_MCP_ALLOWED_HOSTS"].split(",")
        paths = {}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            paths[probe] = get["path"]
            assert get["port"] == "http"
            (host,) = [h["value"] for h in get["httpHeaders"] if h["name"] == "Host"]
            assert host in allowed
        assert paths == {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/health"}
        assert container["livenessProbe"]["timeoutSeconds"] >= 1
        assert {"name": "http", "containerPort": port, "protocol": "TCP"} in container["ports"]


def test_allowed_hosts_are_the_service_names_the_pod_ip_and_the_operators(tmp_path: Path) -> None:
    allowed = env_of(render(tmp_path, NON_DEFAULT))["K8S_MCP_ALLOWED_HOSTS"].split(",")
    assert allowed == [
        "t-k8s-mcp-server:8080", "t-k8s-mcp-server.mcp:8080", "t-k8s-mcp-server.mcp.svc:8080",
        "t-k8s-mcp-server.mcp.svc.cluster.local:8080", "localhost:8080", "127.0.0.1:8080", "$(POD_IP):8080",
        "mcp.example.com", "mcp.example.com:*",
    ]  # fmt: skip


def test_network_policy_admits_the_named_namespaces_and_lets_out_only_dns_and_the_api_servers(
    tmp_path: Path,
) -> None:
    policy = one(render(tmp_path, {**NON_DEFAULT, "serviceMonitor": {"enabled": False}}), "NetworkPolicy")[
        "spec"
    ]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    sources = [rule["from"][0] for rule in policy["ingress"]]
    assert sources[0]["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["agents", "ci"]}
    ]
    assert sources[1] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "k8s-mcp-server-test",
                "app.kubernetes.io/instance": "t",
            }
        }
    }
    assert len(sources) == 2
    assert all(rule["ports"] == [{"port": 8080, "protocol": "TCP"}] for rule in policy["ingress"])
    egress = policy["egress"]
    assert egress[0]["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert egress[0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert egress[1:] == [
        {"to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}], "ports": [{"port": 6443, "protocol": "TCP"}]},
        {
            "to": [{"ipBlock": {"cidr": "192.168.5.0/24"}}],
            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
        },
    ]


def test_default_network_policy_lets_in_only_the_test_pod_and_out_only_dns(tmp_path: Path) -> None:
    policy = one(render(tmp_path), "NetworkPolicy")["spec"]
    assert [list(rule["from"][0]) for rule in policy["ingress"]] == [["podSelector"]]
    assert len(policy["egress"]) == 1 and policy["egress"][0]["ports"][0]["port"] == 53


def test_pdb_hpa_and_service_select_the_deployments_pods(tmp_path: Path) -> None:
    docs = render(tmp_path)
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert one(docs, "PodDisruptionBudget")["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": selector},
    }
    assert one(docs, "Service")["spec"]["selector"] == selector
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "t-k8s-mcp-server",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert "replicas" not in one(docs, "Deployment")["spec"]  # the HPA owns the count


def test_pdb_and_hpa_use_the_beta_apis_on_a_v1_20_cluster(tmp_path: Path) -> None:
    new = render(tmp_path)
    old = render(tmp_path, None, "--kube-version", "1.20.2")
    assert (
        one(new, "PodDisruptionBudget")["apiVersion"],
        one(new, "HorizontalPodAutoscaler")["apiVersion"],
    ) == ("policy/v1", "autoscaling/v2")
    assert (
        one(old, "PodDisruptionBudget")["apiVersion"],
        one(old, "HorizontalPodAutoscaler")["apiVersion"],
    ) == ("policy/v1beta1", "autoscaling/v2beta2")


def test_without_autoscaling_the_deployment_sets_the_replica_count(tmp_path: Path) -> None:
    docs = render(tmp_path, NON_DEFAULT)
    assert one(docs, "Deployment")["spec"]["replicas"] == 3
    assert "HorizontalPodAutoscaler" not in kinds(docs)


def test_service_monitor_scrapes_metrics_with_a_key_and_prometheus_is_let_in(tmp_path: Path) -> None:
    docs = render(tmp_path, NON_DEFAULT)
    monitor = one(docs, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics" and endpoint["port"] == "http"
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "scrape-key", "key": "api-key"},
    }
    ingress = one(docs, "NetworkPolicy")["spec"]["ingress"]
    assert ingress[-1]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring"]
    assert "ServiceMonitor" not in kinds(render(tmp_path))


def test_secrets_come_from_secret_references_never_from_values_in_the_pod_spec(tmp_path: Path) -> None:
    env = env_of(render(tmp_path, NON_DEFAULT))
    assert env["K8S_MCP_DATABASE_URL"] == {"secretKeyRef": {"name": "mcp-db", "key": "url"}}
    assert env["K8S_MCP_MAX_OUTPUT_BYTES"] == "1048576"


def test_helm_test_hook_checks_the_service_and_is_a_test_hook(tmp_path: Path) -> None:
    pod = one(render(tmp_path), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["metadata"]["labels"] == {
        "app.kubernetes.io/name": "k8s-mcp-server-test",
        "app.kubernetes.io/instance": "t",
    }
    script = pod["spec"]["containers"][0]["args"][0]
    assert "http://t-k8s-mcp-server:9096" in script and "[200, 200, 401]" in script
    compile(script, "helm-test", "exec")  # the check is valid Python


BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown key", {"replicas": 2}, "Additional property replicas is not allowed"),
    ("zero replicas", {"replicaCount": 0}, "replicaCount"),
    ("root uid", {"image": {"repository": "x", "uid": 0}}, "image.uid"),
    ("port out of range", {"service": {"port": 70000}}, "service.port"),
    ("bad sha256", {"apiKeys": {"keys": [{"principal": "ci", "sha256": "abc"}]}}, "sha256"),
    (
        "anonymous principal",
        {"apiKeys": {"keys": [{"principal": "anonymous", "sha256": "a" * 64}]}},
        "principal",
    ),
    (
        "unknown key field",
        {"apiKeys": {"keys": [{"principal": "ci", "sha256": "a" * 64, "role": "x"}]}},
        "role",
    ),
    (
        "relative policy path",
        {"apiKeys": {"keys": [{"principal": "ci", "sha256": "a" * 64, "policy": "ci.yaml"}]}},
        "policy",
    ),
    ("policy name not yaml", {"policies": {"default": "x.txt"}}, "policies.default"),
    ("bad cidr", {"networkPolicy": {"enabled": True, "apiServers": [{"cidr": "10.0.0.1"}]}}, "cidr"),
    (
        "bad namespace",
        {"networkPolicy": {"enabled": True, "ingressNamespaces": ["Bad_NS"]}},
        "ingressNamespaces",
    ),
    ("impersonation not a bool", {"impersonation": {"enabled": "yes"}}, "impersonation.enabled"),
    ("extraEnv outside K8S_MCP_", {"extraEnv": [{"name": "PATH", "value": "/tmp"}]}, "extraEnv"),
    (
        "cpu target over 100",
        {"autoscaling": {"targetCPUUtilizationPercentage": 150}},
        "targetCPUUtilizationPercentage",
    ),
]


@pytest.mark.parametrize(("what", "values", "mentions"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_values_schema_rejects_bad_values(
    tmp_path: Path, what: str, values: dict[str, Any], mentions: str
) -> None:
    out = helm("template", "t", str(CHART), "-f", str(values_file(tmp_path, values)), check=False)
    assert out.returncode != 0, what
    assert "don't meet the specifications of the schema" in out.stderr
    assert mentions in out.stderr


def test_a_default_policy_missing_from_the_files_fails_the_render(tmp_path: Path) -> None:
    values = {"policies": {"default": "other.yaml", "files": {"reads.yaml": "version: 1\n"}}}
    out = helm("template", "t", str(CHART), "-f", str(values_file(tmp_path, values)), check=False)
    assert out.returncode != 0 and "not among policies.files" in out.stderr


def test_a_service_monitor_without_a_scrape_key_fails_the_render(tmp_path: Path) -> None:
    out = helm("template", "t", str(CHART), "--set", "serviceMonitor.enabled=true", check=False)
    assert out.returncode != 0 and "needs an API key" in out.stderr
