"""parse/data/resources.json is the test cluster's own discovery, regenerated here and diffed."""

from __future__ import annotations

import importlib.util
import json

import pytest
import yaml

from k8s_mcp_server.parse.resources import CATEGORIES, CLUSTER_SCOPED, canonical_resource
from tests.support.cluster import REPO, Cluster

pytestmark = pytest.mark.cluster

DATA = REPO / "src" / "k8s_mcp_server" / "parse" / "data" / "resources.json"
OVERLAY = REPO / "src" / "k8s_mcp_server" / "parse" / "overlay" / "resources.yaml"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_resources", REPO / "scripts" / "gen_resources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_resources_equal_a_regeneration_from_the_clusters_discovery(cluster: Cluster) -> None:
    gen = _generator()
    fresh = gen.render(gen.generate(str(cluster.kubectl), str(cluster.admin)))  # type: ignore[attr-defined]
    assert fresh == DATA.read_text(), "run scripts/gen_resources.py --kubeconfig ... and review the diff"


def test_the_reviewed_overlay_only_adds_what_discovery_cannot_show() -> None:
    discovered = {entry["name"] for entry in json.loads(DATA.read_text())["resources"]}
    overlay = yaml.safe_load(OVERLAY.read_text())["resources"]
    for entry in overlay:
        assert set(entry) <= {"name", "namespaced", "short_names", "categories"}, entry
        assert isinstance(entry["namespaced"], bool)
        assert entry["name"] not in discovered, f"{entry['name']} is a generated fact now: drop it"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("po", "pods"), ("Pod", "pods"), ("deploy", "deployments"), ("psp", "podsecuritypolicies"),
     ("netpol", "networkpolicies"), ("ValidatingAdmissionPolicy", "validatingadmissionpolicies"),
     ("crds", "customresourcedefinitions"), ("ip", "ipaddresses"),
     ("widgets.example.com", "widgets.example.com")],
)  # fmt: skip
def test_spellings_resolve_to_the_discovered_plural(spelling: str, canonical: str) -> None:
    assert canonical_resource(spelling) == canonical


def test_scope_and_categories_come_from_discovery() -> None:
    assert {"nodes", "namespaces", "clusterroles", "servicecidrs"} <= CLUSTER_SCOPED
    assert "pods" not in CLUSTER_SCOPED and "secrets" not in CLUSTER_SCOPED
    assert "pods" in CATEGORIES["all"] and "secrets" not in CATEGORIES["all"]
    assert "customresourcedefinitions" in CATEGORIES["api-extensions"]


def test_the_generator_reads_rows_with_empty_short_names_by_column() -> None:
    gen = _generator()
    text = (
        "NAME        SHORTNAMES   APIVERSION   NAMESPACED   KIND     VERBS        CATEGORIES\n"
        "bindings                 v1           true         Binding  create\n"
        "pods        po           v1           true         Pod      get,list     all\n"
    )
    rows = gen.parse_api_resources(text)  # type: ignore[attr-defined]
    assert rows[0] == {"name": "bindings", "short_names": [], "kind": "Binding", "namespaced": True,
                       "groups": [""], "categories": []}  # fmt: skip
    assert rows[1]["short_names"] == ["po"] and rows[1]["categories"] == ["all"]
