"""What a kubectl command touches: resources, names, its class after flags, extra guarded names."""

from __future__ import annotations

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.facts import Facts, flag_on, last_value
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
_SECRET_READERS = frozenset({"get", "describe", "apply view-last-applied"})
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
    if verb in _SECRET_READERS and "secrets" in resources:
        return CommandClass.SENSITIVE_READ
    if verb == "get" and "secret" in (last_value(scan, "raw") or "").lower():
        return CommandClass.SENSITIVE_READ
    if verb == "version" and flag_on(scan, "client"):
        return CommandClass.LOCAL
    if verb == "config view" and flag_on(scan, "raw"):
        return CommandClass.CREDENTIAL
    return cls


def _verbosity(scan: Scan) -> tuple[str, ...]:
    level = last_value(scan, "v")
    if level is None:
        return ()
    return () if level.isdigit() and int(level) <= _MAX_SAFE_VERBOSITY else ("v",)


def analyze(scan: Scan) -> Facts:
    """Facts of one kubectl command."""
    verb, args = scan.path, scan.positionals
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
    return Facts(
        command_class=_class(verb, scan, resources),
        resources=resources,
        names=names,
        namespaces=namespaces,
        guarded=guarded,
    )
