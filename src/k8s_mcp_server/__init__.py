"""k8s-mcp-server: a policy-enforcing security proxy for kubectl, helm, istioctl and argocd."""

__version__ = "0.1.0"
