from __future__ import annotations

import json
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8s_mcp_server.audit import PLACEHOLDER, rejected_record
from k8s_mcp_server.audit.arguments import (
    MAX_DOCUMENT,
    redact_structured_argv,
    redact_structured_command,
    secret_key,
)
from k8s_mcp_server.audit.records import decision_record
from k8s_mcp_server.contracts import CommandRequest
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command

CANARY = "Zq9CANARYx7"


# Secret values inside structured arguments: none of them may reach the record.
def q(document: object) -> str:
    """A document as one shell word, the way a caller writes it."""
    return shlex.quote(json.dumps(document, separators=(",", ":")))


ENV_ADD = {"op": "add", "path": "/spec/template/spec/containers/0/env/-"}
OVERRIDES = {"spec": {"containers": [{"name": "x", "env": [{"name": "TOKEN", "value": CANARY}]}]}}
ARGO_PATCH = {"spec": {"source": {"helm": {"parameters": [{"name": "pass", "value": CANARY}]}}}}

STRUCTURED_FORMS = [
    ("kubectl", f"patch secret s --type=json -p {q([{'op': 'add', 'path': '/data/x', 'value': CANARY}])}"),
    (
        "kubectl",
        "patch secret s --type=json -p="
        + q([{"op": "replace", "path": "/stringData/tls.key", "value": CANARY}]),
    ),
    (
        "kubectl",
        f"patch deploy d --type=json -p {q([{**ENV_ADD, 'value': {'name': 'DB_PASS', 'value': CANARY}}])}",
    ),
    (
        "kubectl",
        f"patch secret s --type=json --patch {q([{'op': 'add', 'path': '/data', 'value': {'a': CANARY}}])}",
    ),
    ("kubectl", f"""patch secret s -p '{{"data":{{"x":"{CANARY}"}}}}'"""),
    ("kubectl", f"""patch secret s --type=merge -p="{{\\"data\\":{{\\"x\\":\\"{CANARY}\\"}}}}" """),
    ("kubectl", f"""patch secret s -p 'stringData: {{x: {CANARY}}}'"""),
    ("kubectl", f"""patch cm c -p '{{"data":{{"config.yaml":"user: a\\npassword: {CANARY}"}}}}'"""),
    ("kubectl", f"run x --image=busybox --overrides={q(OVERRIDES)}"),
    ("kubectl", f"""annotate secret s x='{{"data":{{"a":"{CANARY}"}}}}'"""),
    ("kubectl", f"""set env deploy/web "DB_PASSWORD={CANARY} two" """),
    ("kubectl", f"""create secret generic s --from-literal "k={CANARY} x" """),
    ("kubectl", f"create secret generic s --from-literal=user={CANARY}"),
    ("kubectl", f"run x --image=busybox --env=API_KEY={CANARY}"),
    ("helm", f"""template x ./c --set-json 'db=[{{"name":"DB_PASS","value":"{CANARY}"}}]'"""),
    ("helm", f"""template x ./c --set-json 'cfg={{"db":{{"password":"{CANARY}"}}}},other=1'"""),
    ("helm", f"""template x ./c --set-json 'auth="{CANARY}"'"""),
    ("helm", f"template x ./c --set 'auth.rootPassword={CANARY} spaced'"),
    ("helm", f"template x ./c --set-string image.tag=1,db.password={CANARY}"),
    ("helm", f"template x ./c --set secrets.db={CANARY}"),
    ("helm", f"template x ./c --set-literal tls.key={CANARY}"),
    ("istioctl", f"install --set values.global.proxy.privateKey={CANARY}"),
    ("argocd", f"app set a --helm-set db.password={CANARY}"),
    ("argocd", f"app set a -p admin.pass={CANARY}"),
    ("argocd", f"app patch a --patch {q(ARGO_PATCH)}"),
]


@pytest.mark.parametrize(("tool", "command"), STRUCTURED_FORMS)
def test_no_secret_inside_a_structured_argument_reaches_the_record_command(tool: str, command: str) -> None:
    request = CommandRequest(request_id="r", tool=tool, command=command)
    record = rejected_record(request=request, error=CommandError("refused"))
    assert CANARY not in record["command"]
    assert PLACEHOLDER in record["command"]


@pytest.mark.parametrize(("tool", "command"), STRUCTURED_FORMS)
def test_no_secret_inside_a_structured_argument_survives_in_argv(tool: str, command: str) -> None:
    redacted = redact_structured_argv(shlex.split(command))
    assert CANARY not in json.dumps(redacted)


def test_a_parsed_json_patch_keeps_its_operations_and_hides_only_the_secret_value() -> None:
    command = (
        f"""patch secret s -n dev --type=json -p '[{{"op":"add","path":"/data/x","value":"{CANARY}"}},"""
        """{"op":"replace","path":"/metadata/labels/team","value":"payments"}]'"""
    )
    parsed = parse_command("kubectl", command)
    request = CommandRequest(request_id="r", tool="kubectl", command=command)
    record = decision_record(
        request=request, parsed=parsed, decision=None, outcome="allow", rule="r", reason="x",
        policy_revision="v", cluster=None,
    )  # fmt: skip
    assert CANARY not in json.dumps(record)
    patch = json.loads(next(word for word in record["argv"] if word.startswith("[")))
    assert patch == [
        {"op": "add", "path": "/data/x", "value": PLACEHOLDER},
        {"op": "replace", "path": "/metadata/labels/team", "value": "payments"},
    ]


@pytest.mark.parametrize(
    "command",
    [
        'patch deploy web -p \'{"spec":{"replicas":3,"template":{"spec":{"containers":'
        '[{"name":"web","image":"nginx:1.27"}]}}}}\'',
        """patch deploy web --type=json -p '[{"op":"replace","path":"/spec/replicas","value":3}]'""",
        'template x ./c --set image.tag=1.2,replicas=3 --set-json \'resources={"cpu":"1"}\'',
        "set env deploy/web LOG_LEVEL=debug",
        "get pods -l app=web -o jsonpath='{.items[*].metadata.name}'",
        "logs -p web-1",
    ],
)
def test_arguments_without_secrets_are_left_exactly_as_written(command: str) -> None:
    assert redact_structured_command(command) == command
    assert redact_structured_argv(shlex.split(command)) == shlex.split(command)


def test_secret_references_and_plain_key_fields_are_not_secret_keys() -> None:
    assert secret_key("password") and secret_key("apiKey") and secret_key("tls.key") and secret_key("DB_PASS")
    assert not secret_key("key") and not secret_key("secretKeyRef") and not secret_key("existingSecretName")
    assert not secret_key("image") and not secret_key("replicas")


# 30 levels of aliases that each name the level below twice: 2**30 nodes once expanded.
_ALIAS_BOMB = f"y0: &y0 [{{data: {CANARY}}}]\n" + "".join(
    f"y{i}: &y{i} [*y{i - 1}, *y{i - 1}]\n" for i in range(1, 31)
)


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than json's recursion limit
        "a: &a [*a, *a]\nb: [" + ", ".join(["*a"] * 50) + "]",  # a YAML alias cycle
        _ALIAS_BOMB,
        '{"data": {"x": "' + CANARY + '"}, "pad": "' + "p" * MAX_DOCUMENT + '"}',
        "{not json: [unclosed " + CANARY,
        CANARY,
    ],
)
def test_a_patch_document_that_cannot_be_read_safely_is_replaced_whole(document: str) -> None:
    words = ["patch", "secret", "s", "-p", document]
    assert redact_structured_argv(words)[4] == PLACEHOLDER


_SCALARS = st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none())
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_DOCS, st.sampled_from(["data", "stringData", "password", "apiKey", "token"]))
def test_a_planted_secret_under_a_secret_key_never_survives_any_patch_shape(extra: object, key: str) -> None:
    document = {"spec": extra, key: {"nested": [CANARY]}, "list": [{"name": "DB_PASSWORD", "value": CANARY}]}
    command = f"patch secret s -p {shlex.quote(json.dumps(document))}"
    assert CANARY not in redact_structured_command(command)
    assert CANARY not in json.dumps(redact_structured_argv(shlex.split(command)))


@given(st.text(max_size=300))
def test_any_command_text_is_either_unchanged_or_redacted_never_an_error(command: str) -> None:
    result = redact_structured_command(command)
    assert isinstance(result, str)
    assert result == command or PLACEHOLDER in result or "'" in result
