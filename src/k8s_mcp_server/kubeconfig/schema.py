"""Check the shape of a parsed kubeconfig (apiVersion v1, kind Config) and pick the context to use.

Only the lists and the names in them are read for every entry: that is what finding the context in
use takes. The bodies of the contexts, clusters and users that context does not use are never looked
at (a developer's ~/.kube/config holds contexts for other clouds, with exec plugins and file paths);
they are dropped and never reach kubectl. Lenient where kubectl is (absent apiVersion/kind, no
current-context with exactly one context); strict everywhere else: unknown keys, wrong types and
duplicate names are refused, since what we do not understand we cannot vouch for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from k8s_mcp_server.kubeconfig.problems import Problems, show

_TOP_KEYS = frozenset(
    {"apiVersion", "kind", "clusters", "users", "contexts", "current-context", "preferences", "extensions"}
)
_LISTS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
_CONTEXT_KEYS = frozenset({"cluster", "user", "namespace", "extensions"})
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One named entry: where it is (`clusters[2]`), its name, and its inner mapping (`cluster: {...}`)."""

    path: str
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Document:
    """The context in use and what it names; every other entry of the file is already dropped."""

    context: Entry  # the selected context
    cluster: Entry  # its cluster
    user: Entry | None  # its user; a context may name none
    namespace: str | None


def read_document(data: object) -> Document:
    """Validate the structure and resolve the selected context; raises `KubeconfigError`."""
    problems = Problems()
    if data is None:
        problems.invalid("the kubeconfig is empty")
        problems.fail()
    if not isinstance(data, dict):
        twice = " (was it base64-encoded twice?)" if isinstance(data, str) else ""
        problems.invalid(
            f"the kubeconfig must be a YAML mapping with clusters, users, contexts and current-context{twice}"
        )
        problems.fail()
    for key in data:
        if key not in _TOP_KEYS:
            problems.invalid(
                f"unknown top-level key {show(key)}; expected one of {', '.join(sorted(_TOP_KEYS))}"
            )
    if data.get("apiVersion") not in (None, "v1"):
        problems.invalid("apiVersion must be v1")
    if data.get("kind") not in (None, "Config"):
        problems.invalid("kind must be Config")
    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        problems.invalid("current-context must be a string")
    lists = {key: _entries(key, inner, data.get(key), problems) for key, inner in _LISTS}
    problems.raise_if_any()
    context = _select(lists["contexts"], current or None, problems)
    _check_context(context, problems)
    problems.raise_if_any()
    cluster, user = _resolve(context, lists["clusters"], lists["users"], problems)
    if problems or cluster is None:
        problems.fail()
    namespace = context.body.get("namespace") or None
    return Document(
        context=context,
        cluster=cluster,
        user=user,
        namespace=namespace,
    )


def _entries(key: str, inner: str, value: object, problems: Problems) -> tuple[Entry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.invalid(f"{key} must be a list of {{name: ..., {inner}: {{...}}}} entries")
        return ()
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        path = f"{key}[{index}]"
        if not isinstance(item, dict):
            problems.invalid(f"{path} must be a mapping with name and {inner}")
            continue
        for extra in sorted(set(item) - {"name", inner}):
            problems.invalid(f"{path} has an unknown key {show(extra)}; expected name and {inner}")
        name = item.get("name")
        if not isinstance(name, str) or not name or not name.isprintable():
            problems.invalid(f"{path}.name must be a non-empty string of printable characters")
            continue
        if name in seen:
            problems.invalid(f"{path}.name {show(name)} is used twice in {key}; names must be unique")
        seen.add(name)
        body = item.get(inner)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            problems.invalid(f"{path}.{inner} must be a mapping")
            continue
        entries.append(Entry(path=f"{path}.{inner}", name=name, body=body))
    return tuple(entries)


def _check_context(entry: Entry, problems: Problems) -> None:
    for key in sorted(set(entry.body) - _CONTEXT_KEYS):
        problems.invalid(f"{entry.path} has an unknown key {show(key)}; expected cluster, user, namespace")
    for key in ("cluster", "user", "namespace"):
        value = entry.body.get(key)
        if value is not None and not isinstance(value, str):
            problems.invalid(f"{entry.path}.{key} must be a string")
    namespace = entry.body.get("namespace")
    if isinstance(namespace, str) and namespace and not _NAMESPACE.fullmatch(namespace):
        problems.invalid(f"{entry.path}.namespace {show(namespace)} is not a valid namespace name")


def _select(contexts: tuple[Entry, ...], current: str | None, problems: Problems) -> Entry:
    if current is not None:
        for entry in contexts:
            if entry.name == current:
                return entry
        # references are not echoed: a value pasted into the wrong field may be a credential
        problems.invalid(f"current-context names no entry of contexts; {_choices(contexts)}")
        problems.fail()
    if len(contexts) == 1:
        return contexts[0]
    if not contexts:
        problems.invalid("the kubeconfig has no contexts; add one naming a cluster and a user")
    else:
        problems.invalid(
            f"current-context is not set and there are {len(contexts)} contexts; {_choices(contexts)}"
        )
    problems.fail()


def _choices(contexts: tuple[Entry, ...]) -> str:
    if not contexts:
        return "the kubeconfig has no contexts"
    names = ", ".join(show(entry.name) for entry in contexts[:10])
    return f"set current-context to one of: {names}"


def _resolve(
    context: Entry, clusters: tuple[Entry, ...], users: tuple[Entry, ...], problems: Problems
) -> tuple[Entry | None, Entry | None]:
    cluster_name = context.body.get("cluster")
    user_name = context.body.get("user") or None
    cluster = next((entry for entry in clusters if entry.name == cluster_name), None)
    if not cluster_name:
        problems.invalid(f"{context.path}.cluster is missing; name the cluster this context uses")
    elif cluster is None:
        problems.invalid(f"{context.path}.cluster names no entry of clusters; use the name of one of them")
    user = next((entry for entry in users if entry.name == user_name), None)
    if user_name is not None and user is None:
        problems.invalid(f"{context.path}.user names no entry of users; use the name of one of them")
    return cluster, user
