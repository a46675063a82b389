"""What a kubectl command touches: resources, names, its class after flags, extra guarded names."""

from __future__ import annotations

import re

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values, last_value
from k8s_mcp_server.parse.grammar import Scan
from k8s_mcp_server.parse.kubectl_spec import CREATE_SUBS, VERBS
from k8s_mcp_server.parse.resources import canonical_resource, expand, resource_args

_TYPED = frozenset(
    [
        "get",
        "describe",
        "delete",
        "edit",
        "patch",
        "replace",
        "label",
        "annotate",
        "scale",
        "autoscale",
        "expose",
        "wait",
        "set",
        "rollout",
        "apply",
        "taint",
    ]
)
_POD_LIKE = frozenset({"logs", "exec", "attach", "port-forward", "debug"})
_FIXED = {
    "top node": "nodes",
    "top pod": "pods",
    "drain": "nodes",
    "cordon": "nodes",
    "uncordon": "nodes",
    "certificate approve": "certificatesigningrequests",
    "certificate deny": "certificatesigningrequests",
    "run": "pods",
    "events": "events",
}
_SECRET_READERS = frozenset({"get", "describe", "apply view-last-applied", "wait"})
# Creating these starts containers with an image the caller chose: code in a workload.
_WORKLOAD_CREATORS = frozenset({"run", "debug", "create deployment", "create job", "create cronjob"})
# Verbs whose arguments after `--` are a command for a container, not more positionals.
_COMMAND_AFTER_DASHES = _WORKLOAD_CREATORS | {"exec"}
# Writes to these grant or move permissions: a credential class whatever the verb.
_RBAC_RESOURCES = frozenset(
    {"roles", "clusterroles", "rolebindings", "clusterrolebindings", "serviceaccounts"}
)
_ESCALATING_VERBS = frozenset({"set serviceaccount", "set subject", "auth reconcile"})
# A patch that mentions one of these may change what a workload runs or as whom it runs.
_PATCH_CODE_WORDS = re.compile(
    r"(?i)image|command|args|containers|volume|securitycontext|serviceaccount|hostpid|hostnetwork|"
    r"hostipc|privileged|capabilities|nodename|overhead|lifecycle|probe|env"
)
_SA_TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 (a Secret type, not a secret)
_EDITOR_VERBS = frozenset({"edit", "apply edit-last-applied"})
_EDITOR_REASON = (
    "it runs an editor on the proxy's host and leaves the object, Secret values included, in a "
    "temporary file there; use 'kubectl patch' or 'kubectl apply' instead"
)
# `kubectl cluster-info dump` reads these namespaces when neither --namespaces nor -A is given (and
# the current one: the caller's -n or the default namespace, which the parser adds anyway).
DUMP_DEFAULT_NAMESPACES = ("kube-system",)
_MAX_SAFE_VERBOSITY = 4  # from -v=5 on, kubectl logs request bodies and bearer tokens


def _object_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """The TYPE/NAME part of args, without trailing `key=value`, `key-` and taint arguments."""
    out: list[str] = []
    for arg in args:
        if "=" in arg or ":" in arg or (arg.endswith("-") and out):
            break
        out.append(arg)
    return tuple(out)


def _pod_like(args: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not args:
        return (), ()
    kind, slash, name = args[0].partition("/")
    if slash:
        if not kind or not name:
            raise CommandError(f"'{args[0]}' is not TYPE/NAME")
        return expand(kind), (name,)
    return ("pods",), (args[0],)


def _cp(args: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, namespaces) of `kubectl cp [ns/]pod:path local`, in either direction."""
    names: list[str] = []
    namespaces: list[str] = []
    for arg in args:
        remote, colon, _ = arg.partition(":")
        if colon and remote and not remote.startswith((".", "/")):
            namespace, slash, pod = remote.rpartition("/")
            names.append(pod)
            if slash:
                namespaces.append(namespace)
    return tuple(names), tuple(namespaces)


def _class(verb: str, scan: Scan, resources: tuple[str, ...]) -> CommandClass:
    cls = VERBS[verb]
    if verb in _EDITOR_VERBS or verb in _WORKLOAD_CREATORS or verb == "set image":
        return CommandClass.EXEC  # a container runs with the image (and command) the caller chose
    if cls is CommandClass.WRITE and (
        verb in _ESCALATING_VERBS or any(r.split(".", 1)[0] in _RBAC_RESOURCES for r in resources)
    ):
        return CommandClass.CREDENTIAL  # grants permissions or makes an identity that can hold them
    if verb == "patch" and _patch_sets_code(scan, resources):
        return CommandClass.EXEC
    if verb.startswith("create secret") and _SA_TOKEN_TYPE in (last_value(scan, "type") or ""):
        return CommandClass.CREDENTIAL  # the token controller fills it with a ServiceAccount token
    if verb == "set env" and flag_on(scan, "list"):
        return CommandClass.SENSITIVE_READ if flag_on(scan, "resolve") else CommandClass.READ
    if verb in _SECRET_READERS and "secrets" in resources:
        return CommandClass.SENSITIVE_READ
    if verb == "get" and "secret" in (last_value(scan, "raw") or "").lower():
        return CommandClass.SENSITIVE_READ
    if verb == "version" and flag_on(scan, "client"):
        return CommandClass.LOCAL
    if verb == "config view" and (flag_on(scan, "raw") or flag_on(scan, "flatten")):
        return CommandClass.CREDENTIAL
    return cls


def _patch_sets_code(scan: Scan, resources: tuple[str, ...]) -> bool:
    """Whether a patch may change a workload's containers, images, commands or identity.

    Resources that hold no pod template (configmaps, services, ...) are only writes; for anything
    else (workloads, pods, custom resources that may embed a pod spec) a patch that names a
    container-shaped field, or a patch given in a file we cannot read here, counts as running code.
    """
    if resources and all(r.split(".", 1)[0] in _PODLESS for r in resources):
        return False
    if any(flag_values(scan, "patch-file")):
        return True
    return any(v is not None and _PATCH_CODE_WORDS.search(v) for v in flag_values(scan, "patch"))


_PODLESS = frozenset(
    {
        "configmaps",
        "services",
        "endpoints",
        "endpointslices",
        "ingresses",
        "networkpolicies",
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
        "resourcequotas",
        "limitranges",
        "namespaces",
        "nodes",
        "persistentvolumeclaims",
        "persistentvolumes",
        "storageclasses",
        "priorityclasses",
        "leases",
        "events",
    }
)


def _verbosity(scan: Scan) -> tuple[str, ...]:
    level = last_value(scan, "v")
    if level is None:
        return ()
    return () if level.isdigit() and int(level) <= _MAX_SAFE_VERBOSITY else ("v",)


def _dump_namespaces(scan: Scan) -> tuple[str, ...]:
    """The namespaces `cluster-info dump` reads beyond the current one (kubectl's own defaults)."""
    if flag_on(scan, "all-namespaces"):
        return ()  # the parser records "*" for -A
    listed = [n for v in flag_values(scan, "namespaces") if v for n in v.split(",")]
    if any(not n for n in listed):
        raise CommandError("--namespaces has an empty entry; write --namespaces=a,b")
    return tuple(listed) if listed else DUMP_DEFAULT_NAMESPACES


def prints_objects(verb: str, scan: Scan) -> bool:
    """Whether the command prints whole objects or fields of them (any output format but `name`).

    `get` and `wait`, and every write with `-o` or `--template` (`--dry-run=client -o yaml` included)
    print the objects they touch: a Secret's values come with them.
    """
    fmt = last_value(scan, "output")
    if fmt is not None and fmt.strip() != "name":
        return True
    return any(v is not None for v in flag_values(scan, "template")) or (verb == "get" and fmt is None)


def analyze(scan: Scan) -> Facts:
    """Facts of one kubectl command."""
    verb = scan.path
    # Arguments after `--` are positionals to kubectl (cobra) unless the verb takes a command there.
    args = scan.positionals if verb in _COMMAND_AFTER_DASHES else scan.positionals + scan.after_dashes
    head = verb.split(" ")[0]
    resources: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    guarded = _verbosity(scan)
    if head in _TYPED and verb not in ("apply", "apply set-last-applied"):
        resources, names = resource_args(_object_args(args))
    elif verb == "explain" and args:
        resources = (canonical_resource(args[0].split(".", 1)[0]),)
    elif head in _POD_LIKE:
        resources, names = _pod_like(args)
    elif verb in _FIXED:
        resources, names = (_FIXED[verb],), args
    elif head == "create" and verb != "create":
        resources, names = (CREATE_SUBS[verb.split(" ", 1)[1]],), args[:1]
    elif verb == "cp":
        resources = ("pods",)
        names, namespaces = _cp(args)
        guarded += ("filename",)  # the local side reads or writes the server's files
    elif verb == "kustomize":
        guarded += ("kustomize",)
    elif verb == "cluster-info dump":
        namespaces = _dump_namespaces(scan)
    if verb == "set env":
        for source in flag_values(scan, "from"):
            kind = canonical_resource((source or "").partition("/")[0])
            if kind not in resources:
                resources += (kind,)  # `--from=secret/x` copies a Secret's keys into the workload
        if flag_on(scan, "resolve") and "secrets" not in resources:
            resources += ("secrets",)  # `--list --resolve` prints the values of referenced Secrets
    return Facts(
        command_class=_class(verb, scan, resources),
        resources=resources,
        names=names,
        namespaces=namespaces,
        guarded=guarded,
        prints_objects=prints_objects(verb, scan),
        never_runs=_EDITOR_REASON if verb in _EDITOR_VERBS else None,
    )
