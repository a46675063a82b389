"""Output templates (`-o jsonpath|go-template|template|custom-columns`, `--template`): which ones can run.

A template prints bare values chosen by the caller, outside the YAML/JSON structure the redactor reads,
and a go-template can transform them (`base64decode`, `printf "%x"`, `urlquery`) into forms no pattern
recognises. So a template runs only when one of these holds:

- it is **provably value-free**: every field it prints is a name, namespace, label, kind, uid, owner,
  timestamp or resource version (a jsonpath or custom-columns spec, checked field by field), or
- the command reads only kinds that hold **no secret-bearing fields** (`TEMPLATE_SAFE_KINDS`: nodes,
  namespaces, services, RBAC objects, ...), where the pattern pass over the output is enough.

Anything else (a Secret, ConfigMap, Pod or workload with its env, a custom resource, `all`, a helm
release) is refused with the structured form to ask for instead: `-o json` (or `-o yaml`), optionally
piped into `jq`, which the proxy redacts before the filter sees it. Measured choice over rendering the
template on redacted objects: kubectl's go-template functions have no exact Python equivalent, and
rendering with kubectl itself (`patch --local`) flattens Lists, so `{.items[*]...}` would print
something else than the caller asked for.
"""

from __future__ import annotations

import re

from ..contracts import CommandClass, ParsedCommand

TEMPLATE_FORMATS = ("jsonpath", "go-template", "template", "custom-columns")

# Kinds whose objects carry no Secret values, env values, config data or release payloads: a template
# over them prints nothing the pattern pass cannot see. Reviewed by hand; everything else (workloads,
# pods, configmaps, secrets, custom resources, `all`) needs a value-free template.
TEMPLATE_SAFE_KINDS = frozenset(
    {
        "namespaces",
        "nodes",
        "services",
        "endpoints",
        "endpointslices",
        "ingresses",
        "ingressclasses",
        "networkpolicies",
        "persistentvolumes",
        "persistentvolumeclaims",
        "storageclasses",
        "csidrivers",
        "csinodes",
        "volumeattachments",
        "events",
        "leases",
        "limitranges",
        "resourcequotas",
        "priorityclasses",
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
        "serviceaccounts",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "customresourcedefinitions",
        "apiservices",
        "runtimeclasses",
        "componentstatuses",
    }
)

_SAFE_FIELDS = (".kind", ".apiVersion", ".type", ".immutable")
# scalar fields, or whole subtrees, that hold no values a workload or config carries: where an object
# runs and how far along it is (`{.items[*].status.phase}` is the commonest template agents write)
_SAFE_METADATA = (
    ".status.phase",
    ".status.podIP",
    ".status.hostIP",
    ".status.readyReplicas",
    ".status.availableReplicas",
    ".status.replicas",
    ".spec.nodeName",
    ".spec.replicas",
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.creationTimestamp",
    ".metadata.uid",
    ".metadata.resourceVersion",
    ".metadata.ownerReferences",
)
_ITEMS_PREFIX = re.compile(r"^\.items(?:\[[0-9*:]{0,16}\])?")
_ACTION = re.compile(r"\{([^{}]{0,1024})\}")
_STRING = re.compile(r'"(?:[^"\\]|\\.){0,256}"')


def template_of(parsed: ParsedCommand) -> tuple[str, str] | None:
    """(format family, template) when the command prints with a template, else None."""
    fmt = (parsed.output_format or "").strip()
    family, _sep, arg = fmt.partition("=")
    family = family.strip().lower()
    if not family.startswith(TEMPLATE_FORMATS):
        return None
    return family, arg.strip().strip("'\"")


def _safe_path(path: str) -> bool:
    rest = _ITEMS_PREFIX.sub("", path, count=1)
    if any(c in rest for c in "?@*") or ".." in rest or "[" in rest:
        return False
    return rest in _SAFE_FIELDS or any(rest == p or rest.startswith(p + ".") for p in _SAFE_METADATA)


def safe_jsonpath(template: str) -> bool:
    """True when every field the jsonpath prints is provably not a value (names, labels, kinds...)."""
    actions = _ACTION.findall(template)
    if not actions or _ACTION.sub("", template).count("{") or "}" in _ACTION.sub("", template):
        return False
    for raw in actions:
        action = _STRING.sub("", raw).strip()
        if action in ("", "end"):
            continue
        if action.startswith("range "):
            target = action.removeprefix("range ").strip()
            if _ITEMS_PREFIX.sub("", target, count=1) != "":
                return False
            continue
        if not all(_safe_path(part) for part in action.split()):
            return False
    return True


def safe_custom_columns(spec: str) -> bool:
    """True when every column of a custom-columns spec is a provably value-free field."""
    for column in spec.split(","):
        _header, sep, path = column.partition(":")
        if not sep or not _safe_path(path.strip()):
            return False
    return True


_GO_ACTION = re.compile(r"\{\{(-?)([^{}]{0,1024}?)(-?)\}\}")
_GO_RANGE = re.compile(r"^range\s+\.items$")


def safe_go_template(template: str) -> bool:
    """True when every action is `range .items`, `end`, a string literal or a value-free field: no
    function (`printf`, `base64decode`, `index`), no variable, no pipeline can reach a value."""
    actions = _GO_ACTION.findall(template)
    rest = _GO_ACTION.sub("", template)
    if not actions or "{{" in rest or "}}" in rest:
        return False
    for _trim_left, raw, _trim_right in actions:
        action = raw.strip()
        if action == "end" or _GO_RANGE.match(action) or _STRING.fullmatch(action):
            continue
        if not (action.startswith(".") and " " not in action and _safe_path(action)):
            return False
    return True


def value_free(family: str, template: str) -> bool:
    """The template prints only provably value-free fields."""
    if not template:
        return False
    if family == "jsonpath":
        return safe_jsonpath(template)
    if family == "custom-columns":
        return safe_custom_columns(template)
    if family in ("go-template", "template"):
        return safe_go_template(template)
    return False


def template_refusal(parsed: ParsedCommand) -> str | None:
    """Why this command's template may not run, or None when it may (see the module docstring)."""
    found = template_of(parsed)
    if found is None:
        return None
    family, template = found
    if value_free(family, template):
        return None
    if parsed.tool == "kubectl":
        kinds = [r.split(".", 1)[0] for r in parsed.resources]
        if not parsed.prints_objects and parsed.command_class is not CommandClass.SENSITIVE_READ:
            return None  # the template formats something else than objects (`version -o`, `config view`)
        if kinds and all(k in TEMPLATE_SAFE_KINDS for k in kinds):
            return None
        what = ", ".join(dict.fromkeys(kinds)) or (
            "the kubeconfig" if parsed.verb.startswith("config") else "these objects"
        )
    elif parsed.command_class is CommandClass.SENSITIVE_READ:
        what = "a helm release" if parsed.tool == "helm" else "this output"
    else:
        return None
    return (
        f"-o {family} over {what} can print secret-bearing fields outside the structure the "
        "redactor reads; ask for -o json (or -o yaml) and, to pick fields, pipe it into jq: filters "
        "after '|' only ever see redacted objects (jsonpath and custom-columns of names, labels and "
        "kinds are allowed as they are)"
    )
