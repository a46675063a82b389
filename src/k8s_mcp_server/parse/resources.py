"""kubectl resource names: short names, singular, Kind, `resource.version.group`, `all` and categories.

The names are facts: parse/data/resources.json is generated from the test cluster's discovery
(scripts/gen_resources.py), and parse/overlay/resources.yaml adds, reviewed by hand, the built-ins
of newer servers that cluster cannot show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources as package_files
from types import MappingProxyType
from typing import Any

import yaml

from k8s_mcp_server.errors import CommandError


def _singular(plural: str) -> str:
    if plural == "endpoints":
        return plural
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    if plural.endswith(("sses", "uses")):
        return plural[:-2]
    return plural[:-1]


def _entries() -> list[dict[str, Any]]:
    """Discovery of the test cluster (generated) plus the reviewed built-ins of newer servers."""
    data = json.loads(package_files.files("k8s_mcp_server.parse").joinpath("data/resources.json").read_text())
    overlay = yaml.safe_load(
        package_files.files("k8s_mcp_server.parse").joinpath("overlay/resources.yaml").read_text()
    )
    entries: list[dict[str, Any]] = list(data["resources"])
    entries += [{"short_names": [], "categories": [], **entry} for entry in overlay["resources"]]
    return entries


def _build() -> tuple[dict[str, str], frozenset[str], dict[str, tuple[str, ...]]]:
    names: dict[str, str] = {}
    cluster: set[str] = set()
    categories: dict[str, list[str]] = {}
    for entry in _entries():
        plural = entry["name"]
        names[plural] = names[_singular(plural)] = plural
        for short in entry["short_names"]:
            names[short] = plural
        if kind := entry.get("kind"):
            names[kind.lower()] = plural
        if not entry["namespaced"]:
            cluster.add(plural)
        for category in entry["categories"]:
            categories.setdefault(category, []).append(plural)
    return names, frozenset(cluster), {k: tuple(sorted(v)) for k, v in categories.items()}


_NAMES, CLUSTER_SCOPED, _CATEGORIES = _build()
RESOURCES: frozenset[str] = frozenset(_NAMES.values())
CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(_CATEGORIES)


def canonical_resource(name: str) -> str:
    """Canonical plural of a resource spelling; unknown (CRD) names come back lower-cased as given.

    "po" -> "pods", "Secret" -> "secrets", "secrets.v1." -> "secrets", "deploy.apps" -> "deployments".
    """
    lowered = name.lower()
    if lowered in _NAMES:
        return _NAMES[lowered]
    base = lowered.split(".", 1)[0]
    return _NAMES.get(base, lowered)


# what kubectl's RESTMapper can resolve: plural, singular, short name or Kind, optionally .version.group
_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}")


def expand(type_list: str) -> tuple[str, ...]:
    """`TYPE1,TYPE2` with categories expanded, as canonical names."""
    out: list[str] = []
    for item in type_list.split(","):
        if not item:
            raise CommandError(f"empty resource type in '{type_list}'; remove the extra comma")
        if not _TYPE.fullmatch(item):
            raise CommandError(
                "a resource type holds only letters, digits, '.' and '-' (pods, deploy.apps, "
                "Deployment.v1.apps); braces, globs and quotes are not expanded by kubectl"
            )
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
