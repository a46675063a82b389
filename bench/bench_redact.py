"""Throughput of the redactor on 20 MB of `kubectl get -o yaml` List output and 20 MB of log text.

Run: .venv/bin/python bench/bench_redact.py [KUBECTL_SECONDS_FOR_20MB_YAML]
With a measured kubectl printing time for the same amount of YAML, the ratio redaction/kubectl is printed.
"""

from __future__ import annotations

import base64
import sys
import time

from k8s_mcp_server.contracts import RawOutput
from k8s_mcp_server.redact import Redactor

TARGET = 20 * 1024 * 1024

POD = """- apiVersion: v1
  kind: Pod
  metadata:
    creationTimestamp: "2024-05-01T10:00:00Z"
    generateName: web-7d4b9c-
    labels:
      app: web
      pod-template-hash: 7d4b9c
    name: web-7d4b9c-{i:05d}
    namespace: team-{ns}
    ownerReferences:
    - apiVersion: apps/v1
      blockOwnerDeletion: true
      controller: true
      kind: ReplicaSet
      name: web-7d4b9c
      uid: 0b6f2a1e-3c4d-4e5f-8a9b-{i:012d}
    resourceVersion: "{rv}"
    uid: 5a1c2b3d-4e5f-4a6b-9c8d-{i:012d}
  spec:
    containers:
    - env:
      - name: LOG_LEVEL
        value: info
      - name: DB_PASSWORD
        valueFrom:
          secretKeyRef:
            key: password
            name: db-credentials
      image: registry.example.com/team/web:1.{ns}.3
      imagePullPolicy: IfNotPresent
      name: web
      ports:
      - containerPort: 8080
        protocol: TCP
      resources:
        limits:
          memory: 256Mi
        requests:
          cpu: 100m
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
      volumeMounts:
      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
        name: kube-api-access-{ns}x
        readOnly: true
    dnsPolicy: ClusterFirst
    serviceAccountName: default
    tolerations:
    - effect: NoExecute
      key: node.kubernetes.io/not-ready
      operator: Exists
      tolerationSeconds: 300
    volumes:
    - name: kube-api-access-{ns}x
      projected:
        sources:
        - serviceAccountToken:
            expirationSeconds: 3607
            path: token
  status:
    containerStatuses:
    - containerID: containerd://{digest}
      image: registry.example.com/team/web:1.{ns}.3
      imageID: registry.example.com/team/web@sha256:{digest}
      name: web
      ready: true
      restartCount: 0
    phase: Running
    podIP: 10.244.{ns}.{ip}
"""

DEPLOY = """- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "3"
    name: api-{i:05d}
    namespace: team-{ns}
  spec:
    replicas: 2
    selector:
      matchLabels:
        app: api
    template:
      metadata:
        labels:
          app: api
      spec:
        containers:
        - env:
          - name: API_TOKEN
            value: tok-{digest}
          - name: FEATURE_FLAGS
            value: a,b,c
          image: registry.example.com/team/api:2.0.{ns}
          name: api
"""

CONFIGMAP = """- apiVersion: v1
  data:
    app.properties: |
      server.port=8080
      feature.x=enabled
      greeting=hello world {i}
  kind: ConfigMap
  metadata:
    name: app-config-{i:05d}
    namespace: team-{ns}
"""

OPAQUE = """- apiVersion: v1
  data:
    password: {pw}
    username: YWRtaW4=
  kind: Secret
  metadata:
    name: db-credentials-{i:05d}
    namespace: team-{ns}
  type: Opaque
"""

LOG = (
    "2024-05-01T10:00:{s:02d}.123Z INFO  http request method=GET path=/api/v1/items/{i} status=200 "
    'duration_ms=12 user_agent="curl/8.0" trace_id={digest}\n'
    "2024-05-01T10:00:{s:02d}.456Z DEBUG cache hit key=items:{i} size=2048\n"
    "2024-05-01T10:00:{s:02d}.789Z WARN  retrying upstream https://api.example.com/v2/items attempt=2\n"
)


def yaml_list() -> str:
    parts = ["apiVersion: v1\nitems:\n"]
    size = 0
    i = 0
    while size < TARGET:
        ns = i % 50
        digest = f"{i:064x}"
        templates = (POD, POD, DEPLOY, CONFIGMAP, OPAQUE if i % 20 == 4 else POD)
        chunk = templates[i % len(templates)].format(
            i=i,
            ns=ns,
            rv=1000 + i,
            digest=digest,
            ip=i % 250,
            pw=base64.b64encode(f"pw-{i}-secret".encode()).decode(),
        )
        parts.append(chunk)
        size += len(chunk)
        i += 1
    parts.append('kind: List\nmetadata:\n  resourceVersion: ""\n')
    return "".join(parts)


def log_text() -> str:
    parts = []
    size = 0
    i = 0
    while size < TARGET:
        chunk = LOG.format(s=i % 60, i=i, digest=f"{i:032x}")
        if i % 1000 == 0:
            chunk += f"2024-05-01T10:00:00Z ERROR auth failed password=Hunter{i}xyz! for https://bob:pw{i}x@db:5432\n"
        parts.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(parts)


def measure(name: str, text: str, redactor: Redactor) -> float:
    raw = RawOutput(stdout=text.encode(), stderr=b"", exit_code=0, duration_ms=0.0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        out = redactor.redact(raw)
        best = min(best, time.perf_counter() - start)
    mb = len(raw.stdout) / 1e6
    print(f"{name}: {mb:.1f} MB in {best:.3f} s = {mb / best:.1f} MB/s, redactions={dict(out.redactions)}")
    return best


def main() -> None:
    redactor = Redactor(b"bench-key")
    yaml_seconds = measure("yaml List", yaml_list(), redactor)
    measure("log text", log_text(), redactor)
    if len(sys.argv) > 1:
        kubectl_seconds = float(sys.argv[1])
        print(f"redaction / kubectl printing time: {yaml_seconds / kubectl_seconds:.2f}")


if __name__ == "__main__":
    main()
