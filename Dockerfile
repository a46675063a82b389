# k8s-mcp-server: the proxy and the four CLIs at pinned versions, checksums verified, run as non-root.
# NOTE: written without a Docker engine at hand (none runs on the machines this was developed on):
# it has not been built. kubectl and helm checksums are of the official linux/amd64 binaries
# (computed from the same upstream binaries that the test suite runs); istioctl and argocd are
# checked against the SHA-256 files published with their releases -- pin ISTIOCTL_SHA256 and
# ARGOCD_SHA256 to your own verified values to make those checks independent of the download site.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS clis
ARG KUBECTL_VERSION=v1.32.3
ARG KUBECTL_SHA256=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f
ARG HELM_VERSION=v3.17.2
# sha256 of the `helm` binary inside helm-${HELM_VERSION}-linux-amd64.tar.gz
ARG HELM_BINARY_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
ARG ISTIOCTL_VERSION=1.25.2
ARG ISTIOCTL_SHA256=
ARG ARGOCD_VERSION=v2.14.9
ARG ARGOCD_SHA256=
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /clis
RUN set -eu; \
    curl -fsSLo kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl"; \
    echo "${KUBECTL_SHA256}  kubectl" | sha256sum -c -; \
    curl -fsSLo helm.tgz "https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz"; \
    tar -xzf helm.tgz --strip-components=1 linux-amd64/helm; rm helm.tgz; \
    echo "${HELM_BINARY_SHA256}  helm" | sha256sum -c -; \
    curl -fsSLo istioctl.tgz "https://github.com/istio/istio/releases/download/${ISTIOCTL_VERSION}/istioctl-${ISTIOCTL_VERSION}-linux-amd64.tar.gz"; \
    sum="${ISTIOCTL_SHA256:-$(curl -fsSL "https://github.com/istio/istio/releases/download/${ISTIOCTL_VERSION}/istioctl-${ISTIOCTL_VERSION}-linux-amd64.tar.gz.sha256" | cut -d' ' -f1)}"; \
    echo "${sum}  istioctl.tgz" | sha256sum -c -; \
    tar -xzf istioctl.tgz istioctl; rm istioctl.tgz; \
    curl -fsSLo argocd "https://github.com/argoproj/argo-cd/releases/download/${ARGOCD_VERSION}/argocd-linux-amd64"; \
    sum="${ARGOCD_SHA256:-$(curl -fsSL "https://github.com/argoproj/argo-cd/releases/download/${ARGOCD_VERSION}/cli_checksums.txt" | awk '$2=="argocd-linux-amd64"{print $1}')}"; \
    [ -n "$sum" ]; echo "${sum}  argocd" | sha256sum -c -; \
    chmod 0755 kubectl helm istioctl argocd

FROM ${PYTHON_IMAGE}
# jq is one of the filters policies may allow after `|`; grep, head, tail, wc, sort come with the base image
RUN apt-get update && apt-get install -y --no-install-recommends jq \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin k8smcp
COPY --from=clis /clis/ /usr/local/bin/
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
# the exact, hash-checked versions CI tests (requirements.lock), then the package itself without deps
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps . && rm -rf /root/.cache
COPY policies ./policies
RUN mkdir -p /app/audit && chown k8smcp /app/audit
USER 10001
ENV K8S_MCP_HOST=0.0.0.0 \
    K8S_MCP_PORT=9096 \
    K8S_MCP_POLICY=/app/policies/default.yaml \
    K8S_MCP_AUDIT_LOG=/app/audit/audit.jsonl \
    K8S_MCP_AUDIT_STDOUT=true
EXPOSE 9096
# Listening on 0.0.0.0 needs API keys and the names clients use (DNS rebinding protection): mount a keys
# file (`k8s-mcp-server keys create NAME`), set K8S_MCP_API_KEYS_FILE to it, and set
# K8S_MCP_ALLOWED_HOSTS (e.g. "k8s-mcp.example.internal:9096,k8s-mcp:*"). The server refuses to start
# otherwise and says so. Per-request workspaces go to /dev/shm.
ENTRYPOINT ["k8s-mcp-server", "serve"]
