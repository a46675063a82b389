"""kubectl resource names: short names, singular, Kind, `resource.version.group`, `all` and categories."""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.errors import CommandError

# plural  short-names  scope (N namespaced, C cluster)
_TABLE = """
pods po N; services svc N; endpoints ep N; namespaces ns C; nodes no C; persistentvolumes pv C
persistentvolumeclaims pvc N; configmaps cm N; secrets - N; serviceaccounts sa N; events ev N
limitranges limits N; resourcequotas quota N; replicationcontrollers rc N; podtemplates - N
componentstatuses cs C; bindings - N; deployments deploy N; replicasets rs N; statefulsets sts N
daemonsets ds N; controllerrevisions - N; jobs - N; cronjobs cj N; horizontalpodautoscalers hpa N
ingresses ing N; ingressclasses - C; networkpolicies netpol N; poddisruptionbudgets pdb N; roles - N
rolebindings - N; clusterroles - C; clusterrolebindings - C; storageclasses sc C; volumeattachments - C
csidrivers - C; csinodes - C; csistoragecapacities - N; customresourcedefinitions crd,crds C
apiservices - C; mutatingwebhookconfigurations - C; validatingwebhookconfigurations - C
validatingadmissionpolicies - C; validatingadmissionpolicybindings - C
certificatesigningrequests csr C; leases - N; endpointslices - N; priorityclasses pc C
runtimeclasses - C; flowschemas - C; prioritylevelconfigurations - C; tokenreviews - C
selfsubjectreviews - C; subjectaccessreviews - C; selfsubjectaccessreviews - C
selfsubjectrulesreviews - C; localsubjectaccessreviews - N; ipaddresses - C; servicecidrs - C
"""

CATEGORIES = MappingProxyType(
    {
        "all": (
            "pods",
            "services",
            "daemonsets",
            "deployments",
            "replicasets",
            "statefulsets",
            "jobs",
            "cronjobs",
            "replicationcontrollers",
            "horizontalpodautoscalers",
        ),
        "api-extensions": (
            "apiservices",
            "customresourcedefinitions",
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ),
    }
)


def _singular(plural: str) -> str:
    if plural == "endpoints":
        return plural
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "uses")):
        return plural[:-2]
    return plural[:-1]


def _build() -> tuple[dict[str, str], frozenset[str]]:
    names: dict[str, str] = {}
    cluster: set[str] = set()
    for entry in _TABLE.replace("\n", ";").split(";"):
        if not entry.strip():
            continue
        plural, shorts, scope = entry.split()
        names[plural] = names[_singular(plural)] = plural
        for short in shorts.split(","):
            if short != "-":
                names[short] = plural
        if scope == "C":
            cluster.add(plural)
    return names, frozenset(cluster)


_NAMES, CLUSTER_SCOPED = _build()
RESOURCES: frozenset[str] = frozenset(_NAMES.values())


def canonical_resource(name: str) -> str:
    """Canonical plural of a resource spelling; unknown (CRD) names come back lower-cased as given.

    "po" -> "pods", "Secret" -> "secrets", "secrets.v1." -> "secrets", "deploy.apps" -> "deployments".
    """
    lowered = name.lower()
    if lowered in _NAMES:
        return _NAMES[lowered]
    base = lowered.split(".", 1)[0]
    return _NAMES.get(base, lowered)


def expand(type_list: str) -> tuple[str, ...]:
    """`TYPE1,TYPE2` with categories expanded, as canonical names."""
    out: list[str] = []
    for item in type_list.split(","):
        if not item:
            raise CommandError(f"empty resource type in '{type_list}'; remove the extra comma")
        lowered = item.lower()
        out.extend(CATEGORIES.get(lowered, (canonical_resource(item),)))
    return tuple(dict.fromkeys(out))


def resource_args(args: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(resources, names) from `TYPE[,TYPE] [NAME...]` or `TYPE/NAME...` arguments."""
    if not args:
        return (), ()
    if any("/" in a for a in args):
        resources: list[str] = []
        names: list[str] = []
        for arg in args:
            kind, slash, name = arg.partition("/")
            if not slash or not kind or not name or "," in kind:
                raise CommandError(f"'{arg}' is not TYPE/NAME; do not mix 'TYPE NAME' and 'TYPE/NAME' forms")
            resources.extend(expand(kind))
            names.append(name)
        return tuple(dict.fromkeys(resources)), tuple(names)
    return expand(args[0]), args[1:]
