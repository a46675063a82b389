"""The `restricted` Pod Security Standard (baseline and restricted levels), as rules over a Pod spec.

Written from the standard's page (kubernetes.io/docs/concepts/security/pod-security-standards, the
"latest" profile): the test API server (v1.20) has no PodSecurity admission, so a dry run there does not
enforce it; these rules do, over every Pod spec the chart renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)  # fmt: skip
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            yield f"{field}[{container.get('name')}]", container


def violations(spec: dict[str, Any]) -> list[str]:
    """Every rule of the restricted profile `spec` (a PodSpec) breaks; empty when it passes."""
    found: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    containers = list(_containers(spec))
    if not containers:
        found.append("no containers")

    # baseline
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"host namespaces: {field}")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        found.append("hostProcess")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            found.append(f"hostPath volume {volume['name']}")
        if not kinds <= ALLOWED_VOLUME_TYPES:
            found.append(f"volume {volume['name']}: type {sorted(kinds - ALLOWED_VOLUME_TYPES)}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"unsafe sysctl {sysctl.get('name')}")
    for where, sc in [("pod", pod_sc), *((w, c.get("securityContext") or {}) for w, c in containers)]:
        selinux = sc.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            found.append(f"{where}: seLinuxOptions")
        if (sc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
            found.append(f"{where}: appArmorProfile")
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{where}: seccomp Unconfined")
        if sc.get("runAsUser") == 0:
            found.append(f"{where}: runAsUser 0")
    for key, value in ((spec.get("metadata") or {}).get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            found.append(f"AppArmor annotation {key}")

    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    for where, container in containers:
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"{where}: hostProcess")
        caps = sc.get("capabilities") or {}
        added = set(caps.get("add") or [])
        if not added <= BASELINE_CAPABILITIES:
            found.append(
                f"{where}: capabilities added beyond baseline {sorted(added - BASELINE_CAPABILITIES)}"
            )
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"{where}: hostPort {port['hostPort']}")
        if sc.get("procMount", "Default") != "Default":
            found.append(f"{where}: procMount")
        # restricted
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation must be false")
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            found.append(f"{where}: runAsNonRoot must be true (pod or container)")
        seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{where}: capabilities must drop ALL")
        if not added <= {"NET_BIND_SERVICE"}:
            found.append(f"{where}: only NET_BIND_SERVICE may be added")
    return found


def pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind/name, PodSpec) of every workload among rendered manifests."""
    for doc in documents:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Pod":
            yield f"Pod/{name}", doc["spec"]
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield f"{kind}/{name}", doc["spec"]["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind}/{name}", doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
