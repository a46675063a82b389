"""Build kubeconfigs for tests: a good one by default, changed by small overrides."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import yaml

TOKEN = "canary-tok-7f3a9c1e5b2d4086"
PASSWORD = "canary-pw-0c8e6a4f2d1b"
KEY_PEM = (
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIcanaryKEYbody0123456789abcdef\n-----END EC PRIVATE KEY-----\n"
)
CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBcanaryCERTbody0123456789abcdef\n-----END CERTIFICATE-----\n"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBpublicCAbody\n-----END CERTIFICATE-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def base_config() -> dict[str, Any]:
    """Two clusters, two users, two contexts; `main` (prod + alice, namespace dev) is current."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "prod",
                "cluster": {
                    "server": "https://k8s.example.com:6443",
                    "certificate-authority-data": b64(CA_PEM),
                },
            },
            {"name": "staging", "cluster": {"server": "https://10.0.0.1"}},
        ],
        "users": [
            {"name": "alice", "user": {"token": TOKEN}},
            {
                "name": "bob",
                "user": {"client-certificate-data": b64(CERT_PEM), "client-key-data": b64(KEY_PEM)},
            },
        ],
        "contexts": [
            {"name": "main", "context": {"cluster": "prod", "user": "alice", "namespace": "dev"}},
            {"name": "side", "context": {"cluster": "staging", "user": "bob"}},
        ],
        "current-context": "main",
        "preferences": {},
    }


def config(**changes: Any) -> dict[str, Any]:
    """`base_config()` with changes at dotted paths: `config(**{"users.0.user.exec": {...}})`.

    A value of `DELETE` removes the key.
    """
    data = base_config()
    for path, value in changes.items():
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is DELETE:
            del target[last]
        else:
            target[last] = value
    return copy.deepcopy(data)


DELETE = object()


def encode_yaml(data: dict[str, Any]) -> str:
    return base64.b64encode(yaml.safe_dump(data, sort_keys=False).encode()).decode()


def encode_json(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def encode_text(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
