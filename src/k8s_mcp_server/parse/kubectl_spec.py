"""kubectl's command tree, classes and flag tables: generated facts + reviewed overlay (clispec.py).

Classification choices worth knowing:
- `config view --raw` is CREDENTIAL (it prints the kubeconfig's keys and tokens); plain `config view`
  (kubectl redacts it) and the other `config` reads are LOCAL; `config` writes are WRITE.
- `kustomize` is LOCAL but always records the guarded flag `kustomize`: it reads the server's
  files or fetches a remote base, and can run helm and plugins.
- `edit` is WRITE (it runs the server's $EDITOR, which the executor's environment controls).
- `run` and `debug` are EXEC whatever their flags: they start a container with a chosen image.
- `diff` is READ (a server-side dry run); its `-f` is guarded like every `-f`.
- `certificate approve|deny`, `create token` and `config set-credentials` are CREDENTIAL; `config
  set|set-cluster|unset` WRITE; `help` LOCAL.
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.parse import clispec

CREATE_SUBS = MappingProxyType(
    {
        "clusterrole": "clusterroles",
        "clusterrolebinding": "clusterrolebindings",
        "configmap": "configmaps",
        "cronjob": "cronjobs",
        "deployment": "deployments",
        "ingress": "ingresses",
        "job": "jobs",
        "namespace": "namespaces",
        "poddisruptionbudget": "poddisruptionbudgets",
        "priorityclass": "priorityclasses",
        "quota": "resourcequotas",
        "role": "roles",
        "rolebinding": "rolebindings",
        "secret docker-registry": "secrets",
        "secret generic": "secrets",
        "secret tls": "secrets",
        "service clusterip": "services",
        "service externalname": "services",
        "service loadbalancer": "services",
        "service nodeport": "services",
        "serviceaccount": "serviceaccounts",
        "token": "serviceaccounts",
    }
)

SPEC = clispec.spec("kubectl")  # data/kubectl.json (generated) + overlay/kubectl.yaml (reviewed)
VERBS = SPEC.verbs
ALIASES = SPEC.aliases
