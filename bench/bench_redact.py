"""Throughput of the redactor on 20 MB of `kubectl get -o yaml` List output, the same objects as
`-o json`, and 20 MB of log text (targets: 25 MB/s for YAML/JSON, 50 MB/s for logs), and its cost next
to kubectl's own on the same output from a real cluster.

Pods carry imagePullSecrets, Secret volumes and secretKeyRef env (the words that used to send every pod
through the YAML composer), deployments a literal secret-looking env value, one item in twenty is a
Secret. Each figure comes with a baseline measured in the same run on the same text (decoding it and
one Python regex scan for a single word, the floor of any Python text pass), so runs on other machines
compare by the ratio.

Run: .venv/bin/python bench/bench_redact.py [--no-cluster]
The cluster part uses the test control plane (`bash scripts/cluster.sh start`; K8S_MCP_TEST_KUBECONFIG
and K8S_MCP_TEST_BIN override it): it fills a scratch namespace with ConfigMaps and Secrets until
`kubectl get cm,secret -n NS -o yaml` prints ~20 MB, times kubectl printing it (median of several runs),
times the redactor on exactly that output, prints the ratio (target <= 0.25), and deletes the namespace.
"""

from __future__ import annotations

import base64
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

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
    imagePullSecrets:
    - name: registry-credentials
    serviceAccountName: default
    tolerations:
    - effect: NoExecute
      key: node.kubernetes.io/not-ready
      operator: Exists
      tolerationSeconds: 300
    volumes:
    - name: tls
      secret:
        defaultMode: 420
        secretName: web-tls-{ns}
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


def json_list() -> str:
    """The YAML List's objects as kubectl prints them with -o json (a 2 MB slice, repeated to 20 MB)."""
    sample = yaml_list()[: 2 * 1024 * 1024]
    sample = sample[: sample.rfind("\n- apiVersion")] + '\nkind: List\nmetadata:\n  resourceVersion: ""\n'
    items = yaml.safe_load(sample)["items"]
    sizes = [len(json.dumps(item, indent=4)) + 9 * item_lines(item) for item in items]
    out: list[dict[str, object]] = []
    size = 0
    while size < TARGET:
        for item, item_size in zip(items, sizes, strict=True):
            out.append(item)
            size += item_size
    return json.dumps({"apiVersion": "v1", "items": out, "kind": "List", "metadata": {}}, indent=4) + "\n"


def item_lines(item: object) -> int:
    return json.dumps(item, indent=4).count("\n") + 1  # each line is indented 8 more inside the List


_BASELINE = re.compile(r"(?i)password")


def baseline(data: bytes) -> tuple[float, float]:
    """Decoding the output and one regex scan for one word, the floor of any Python text pass:
    best (wall, CPU) seconds of three."""
    wall = cpu = float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        _BASELINE.findall(data.decode("utf-8"))
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def measure(name: str, text: str, redactor: Redactor, target: float) -> float:
    raw = RawOutput(stdout=text.encode(), stderr=b"", exit_code=0, duration_ms=0.0)
    best = best_cpu = float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = redactor.redact(raw)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    mb = len(raw.stdout) / 1e6
    floor, floor_cpu = baseline(raw.stdout)
    verdict = "ok" if mb / best >= target else "below target"
    verdict_cpu = "ok" if mb / best_cpu >= target else "below target"
    print(f"{name}: {mb:.1f} MB, target {target:.0f} MB/s")
    print(
        f"  wall {best:.3f} s = {mb / best:.1f} MB/s ({verdict}); baseline {mb / floor:.0f} MB/s, "
        f"redactor/baseline {best / floor:.1f}x"
    )
    print(
        f"  CPU  {best_cpu:.3f} s = {mb / best_cpu:.1f} MB/s ({verdict_cpu}); "
        f"baseline {mb / floor_cpu:.0f} MB/s, redactor/baseline {best_cpu / floor_cpu:.1f}x "
        "(CPU time: other processes on a shared machine do not count)"
    )
    print(f"  redactions={dict(out.redactions)}")
    return best


CLUSTER_ENV = Path.home() / ".cache" / "k8s-mcp-server" / "cluster" / "run" / "cluster.env"
KUBECTL_RUNS = 5
BATCH = 100  # objects per `kubectl create -f -`


def cluster_tools() -> tuple[str, str] | None:
    """(kubectl, admin kubeconfig) of the test cluster, or None when there is none."""
    values = dict(os.environ)
    if "K8S_MCP_TEST_KUBECONFIG" not in values and CLUSTER_ENV.exists():
        for line in CLUSTER_ENV.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values.setdefault(key, value)
    kubeconfig, bin_dir = values.get("K8S_MCP_TEST_KUBECONFIG"), values.get("K8S_MCP_TEST_BIN")
    if not kubeconfig or not bin_dir or not Path(kubeconfig).exists():
        return None
    return str(Path(bin_dir) / "kubectl"), kubeconfig


def kubectl(tools: tuple[str, str], *args: str, stdin: str | None = None) -> bytes:
    return subprocess.run(
        [tools[0], "--kubeconfig", tools[1], *args],
        input=stdin.encode() if stdin is not None else None,
        capture_output=True,
        check=True,
        timeout=600,
    ).stdout


def scratch_objects(ns: str, i: int) -> dict[str, object]:
    if i % 10 == 9:
        data = {f"key-{k}": base64.b64encode(f"value-{i}-{k}-".encode() * 8).decode() for k in range(12)}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"s-{i:05d}", "namespace": ns},
            "data": data,
        }
    props = "".join(
        f"service.s{k}.url=https://svc-{k}.team-{i % 13}.svc.cluster.local:8080/api/v1/items\n"
        f"service.s{k}.timeout.ms={100 * (k % 9 + 1)}\n"
        f"feature.flag-{k}.enabled={'true' if k % 3 else 'false'}\n"
        for k in range(20)
    )
    data = {"app.properties": props, "mode": "production", "replicas": str(i % 7)}
    labels = {"app": f"app-{i % 13}", "tier": "backend"}
    meta = {"name": f"cm-{i:05d}", "namespace": ns, "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def cluster_ratio(redactor: Redactor) -> None:
    tools = cluster_tools()
    if tools is None:
        print("cluster: none running (bash scripts/cluster.sh start); kubectl ratio not measured")
        return
    ns = f"bench-redact-{uuid.uuid4().hex[:8]}"
    kubectl(tools, "create", "namespace", ns)
    try:
        i, size = 0, 0
        while size < TARGET:
            items = [scratch_objects(ns, i + k) for k in range(BATCH)]
            kubectl(
                tools,
                "create",
                "-f",
                "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
            )
            i += BATCH
            size = len(kubectl(tools, "get", "cm,secret", "-n", ns, "-o", "yaml")) if i % 1000 == 0 else size
        args = ("get", "cm,secret", "-n", ns, "-o", "yaml")
        kubectl(tools, *args)  # warm kubectl's discovery cache
        times, out = [], b""
        for _ in range(KUBECTL_RUNS):
            start = time.perf_counter()
            out = kubectl(tools, *args)
            times.append(time.perf_counter() - start)
        kubectl_s = statistics.median(times)
        print(
            f"kubectl get cm,secret -o yaml: {len(out) / 1e6:.1f} MB, {i} objects, "
            f"median {kubectl_s:.3f} s of {KUBECTL_RUNS}"
        )
        raw = RawOutput(stdout=out, stderr=b"", exit_code=0, duration_ms=0.0)
        runs = []
        for _ in range(KUBECTL_RUNS):
            start = time.perf_counter()
            result = redactor.redact(raw)
            runs.append(time.perf_counter() - start)
        redact_s = statistics.median(runs)
        print(
            f"redactor on that output: median {redact_s:.3f} s = {len(out) / 1e6 / redact_s:.1f} MB/s, "
            f"redactions={dict(result.redactions)}"
        )
        print(f"redaction / kubectl printing time: {redact_s / kubectl_s:.2f} (target <= 0.25)")
    finally:
        kubectl(tools, "delete", "namespace", ns, "--wait=false")


def main() -> None:
    redactor = Redactor()
    redactor.redact(
        RawOutput(stdout=b"warm: up\n", stderr=b"", exit_code=0, duration_ms=0.0)
    )  # load the rules
    measure(
        "yaml List (pods with imagePullSecrets and Secret volumes, deployments, configmaps, secrets)",
        yaml_list(),
        redactor,
        25,
    )
    measure("json List (the same objects)", json_list(), redactor, 25)
    measure("log text", log_text(), redactor, 50)
    if "--no-cluster" not in sys.argv:
        cluster_ratio(redactor)


if __name__ == "__main__":
    main()
