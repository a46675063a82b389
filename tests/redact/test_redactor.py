"""Golden tables: realistic kubectl outputs in, redacted outputs out."""

from __future__ import annotations

import json

import pytest
import yaml

from k8s_mcp_server.contracts import CommandClass, ParsedCommand, RawOutput
from k8s_mcp_server.redact import Redactor

from . import samples as s

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def secret_read(output_format: str | None, filters: tuple[tuple[str, ...], ...] = ()) -> ParsedCommand:
    return ParsedCommand(
        tool="kubectl",
        argv=("get", "secret", "db"),
        verb="get",
        command_class=CommandClass.SENSITIVE_READ,
        resources=("secrets",),
        output_format=output_format,
        filters=filters,
    )


@pytest.mark.parametrize(
    "text", [s.PODS_WIDE, s.API_RESOURCES, s.DEPLOY_YAML, "", "No resources found in default namespace.\n"]
)
def test_ordinary_output_comes_back_byte_identical(redactor: Redactor, text: str) -> None:
    out = redactor.redact(s.raw(text))
    assert out.stdout == text
    assert out.redaction_count == 0


def test_secret_yaml_values_become_placeholders_and_the_rest_is_untouched(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.SECRET_YAML))
    assert s.b64(s.PASSWORD) not in out.stdout
    assert s.b64("admin") not in out.stdout
    assert out.redactions == {"secret-data": 2}
    doc = yaml.load(out.stdout, Loader=_Loader)  # noqa: S506 - CSafeLoader/SafeLoader
    assert doc["data"]["password"].startswith("[REDACTED:secret-data:")
    assert doc["metadata"]["name"] == "db-credentials"
    untouched = [
        line for line in s.SECRET_YAML.splitlines() if "password" not in line and "username" not in line
    ]
    assert [line for line in out.stdout.splitlines() if "REDACTED" not in line] == untouched


def test_secret_json_stays_valid_json_with_the_same_keys(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.SECRET_JSON))
    doc = json.loads(out.stdout)
    assert set(doc["data"]) == {"password", "username"}
    assert all(v.startswith("[REDACTED:secret-data:") for v in doc["data"].values())
    assert s.b64(s.PASSWORD) not in out.stdout


def test_equal_values_get_equal_placeholders_and_different_values_differ(redactor: Redactor) -> None:
    text = s.SECRET_YAML.replace(s.b64("admin"), s.b64(s.PASSWORD))
    doc = yaml.load(redactor.redact(s.raw(text)).stdout, Loader=_Loader)  # noqa: S506
    assert doc["data"]["password"] == doc["data"]["username"]
    other = yaml.load(redactor.redact(s.raw(s.SECRET_YAML)).stdout, Loader=_Loader)  # noqa: S506
    assert other["data"]["password"] != other["data"]["username"]


def test_the_same_value_gets_another_placeholder_in_every_response(redactor: Redactor) -> None:
    # no codebook across responses: a placeholder only says "equal to another one of this response"
    one = redactor.redact(s.raw(s.SECRET_YAML)).stdout
    two = redactor.redact(s.raw(s.SECRET_YAML)).stdout
    assert one != two
    assert one.count("[REDACTED:secret-data:") == two.count("[REDACTED:secret-data:") == 2


def test_string_data_and_multiline_values_are_redacted(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.SECRET_STRINGDATA))
    assert s.PASSWORD not in out.stdout
    assert "plainvalue-0123456789" not in out.stdout
    doc = yaml.load(out.stdout, Loader=_Loader)  # noqa: S506
    assert set(doc["stringData"]) == {"config.yaml", "api-key"}


def test_last_applied_annotation_of_a_secret_is_redacted_inside(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.LAST_APPLIED_SECRET))
    assert s.b64(s.PASSWORD) not in out.stdout
    doc = yaml.load(out.stdout, Loader=_Loader)  # noqa: S506
    inner = json.loads(doc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert inner["metadata"]["name"] == "db"
    assert inner["data"]["password"] == doc["data"]["password"]
    assert out.redactions == {"secret-data": 2}


def test_helm_release_secret_is_redacted_under_its_own_rule(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.HELM_RELEASE))
    assert out.redactions == {"helm-release": 1}
    assert "sh.helm.release.v1.web.v1" in out.stdout
    assert len(out.stdout) < 600


def test_docker_config_secret_is_redacted_under_its_own_rule(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.DOCKER_CONFIG))
    assert out.redactions == {"docker-config": 1}


def test_kubeconfig_credentials_are_redacted_and_certificates_and_names_kept(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.KUBECONFIG_RAW))
    doc = yaml.load(out.stdout, Loader=_Loader)  # noqa: S506
    users = {u["name"]: u["user"] for u in doc["users"]}
    for secret in (
        "opaque-token-0123456789abcdef",
        s.PASSWORD,
        "oidc-client-secret-value",
        "production-admin",
    ):
        assert secret not in out.stdout
    assert s.JWT not in out.stdout
    assert users["admin"]["client-certificate-data"] == s.CERT_B64
    assert users["admin"]["client-key-data"].startswith("[REDACTED:kubeconfig-credential:")
    assert users["oidc"]["auth-provider"]["config"]["client-id"] == "kubernetes"
    assert users["basic"]["username"] == "admin"
    assert out.redactions["kubeconfig-credential"] == 7


def test_secret_looking_env_values_are_redacted_and_others_kept(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.POD_SECRET_ENV))
    assert "pg-Pa55word-xyz" not in out.stdout
    assert "sk-not-a-real-one-123" not in out.stdout
    assert "value: debug" in out.stdout
    assert "value: /etc/tls/tls.crt" in out.stdout
    assert out.redactions == {"secret-env": 2}


def test_secret_list_items_are_each_redacted(redactor: Redactor) -> None:
    items = "".join(
        "- " + "\n  ".join(doc.rstrip("\n").splitlines()) + "\n" for doc in (s.SECRET_YAML, s.DEPLOY_YAML)
    )
    text = "apiVersion: v1\nitems:\n" + items + 'kind: List\nmetadata:\n  resourceVersion: ""\n'
    out = redactor.redact(s.raw(text))
    assert s.b64(s.PASSWORD) not in out.stdout
    assert out.redactions == {"secret-data": 2}
    assert yaml.load(out.stdout, Loader=_Loader)["items"][1]["kind"] == "Deployment"  # noqa: S506


def test_multi_document_stream_redacts_each_secret(redactor: Redactor) -> None:
    text = "---\n# Source: chart/templates/secret.yaml\n" + s.SECRET_YAML + "---\n" + s.DOCKER_CONFIG
    out = redactor.redact(s.raw(text))
    assert out.redactions == {"secret-data": 2, "docker-config": 1}
    assert len(list(yaml.compose_all(out.stdout, Loader=_Loader))) == 2


def test_secret_allowed_by_policy_keeps_plain_values_but_not_credentials(redactor: Redactor) -> None:
    plain = s.SECRET_YAML.replace("password:", "greeting:")
    text = plain + "---\n" + plain.replace(s.b64("admin"), s.b64(s.PEM))
    out = redactor.redact(s.raw(text), secrets="allow")
    assert out.stdout.count(s.b64(s.PASSWORD)) == 2
    assert s.b64(s.PEM) not in out.stdout
    assert out.redactions == {"base64-secret": 1}


def test_keyword_pattern_still_applies_to_password_keys_when_secrets_are_allowed(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.SECRET_YAML), secrets="allow")
    assert s.b64(s.PASSWORD) not in out.stdout
    assert out.redactions == {"name-bound": 1}
    assert yaml.load(out.stdout, Loader=_Loader)["data"]["password"].startswith("[REDACTED:")  # noqa: S506


def test_truncated_secret_is_over_redacted_rather_than_leaked(redactor: Redactor) -> None:
    text = s.SECRET_YAML.replace("kind: Secret", 'kind: Secret\nbroken: "unterminated')
    out = redactor.redact(s.raw(text))
    assert s.b64(s.PASSWORD) not in out.stdout
    assert "unparsed" in out.redactions


def test_log_text_credentials_are_redacted(redactor: Redactor) -> None:
    out = redactor.redact(s.raw(s.LOGS))
    for secret in (
        s.PASSWORD,
        s.JWT,
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
        "AKIAIOSFODNN7EXAMPLE",
    ):
        assert secret not in out.stdout
    assert "starting server on :8080" in out.stdout
    assert "postgres://app:[REDACTED:url-credentials:" in out.stdout
    assert set(out.redactions) >= {
        "url-credentials",
        "jwt",
        "pem-private-key",
        "aws-access-key-id",
        "name-bound",
    }


def test_stderr_is_redacted_too(redactor: Redactor) -> None:
    out = redactor.redact(s.raw("", f"error: token {s.JWT} expired\n"))
    assert s.JWT not in out.stderr
    assert out.redactions == {"jwt": 1}


def test_describe_of_a_service_account_token_secret_hides_the_token(redactor: Redactor) -> None:
    parsed = secret_read(None)
    out = redactor.redact(s.raw(s.DESCRIBE_SA_TOKEN), parsed=parsed)
    assert s.JWT not in out.stdout
    assert "ca.crt:     1338 bytes" in out.stdout


@pytest.mark.parametrize(
    "fmt",
    [
        "jsonpath={.data.password}",
        "jsonpath={.data}",
        "go-template={{.data.password}}",
        "custom-columns=NAME:.metadata.name,PW:.data.password",
        "jsonpath={.metadata.annotations}",
    ],
)
def test_secret_values_printed_by_templates_are_redacted(redactor: Redactor, fmt: str) -> None:
    out = redactor.redact(s.raw(f"{s.b64(s.PASSWORD)} hunter2\n"), parsed=secret_read(fmt))
    assert s.b64(s.PASSWORD) not in out.stdout
    assert "hunter2" not in out.stdout
    assert out.redactions["secret-data"] == 2


@pytest.mark.parametrize(
    "fmt",
    [
        "jsonpath={.metadata.name}",
        'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}',
        "custom-columns=NAME:.metadata.name,TYPE:.type",
        "name",
        "wide",
        None,
    ],
)
def test_secret_reads_that_print_only_names_are_kept(redactor: Redactor, fmt: str | None) -> None:
    text = "db-credentials\nregcred\n"
    out = redactor.redact(s.raw(text), parsed=secret_read(fmt))
    assert out.stdout == text


def test_secret_yaml_through_a_filter_is_over_redacted(redactor: Redactor) -> None:
    grepped = f"  password: {s.b64(s.PASSWORD)}\n"
    out = redactor.redact(s.raw(grepped), parsed=secret_read("yaml", (("grep", "password"),)))
    assert s.b64(s.PASSWORD) not in out.stdout


def test_secret_template_output_is_kept_when_policy_allows_secrets(redactor: Redactor) -> None:
    text = f"{s.b64(s.PASSWORD)}\n"
    out = redactor.redact(s.raw(text), secrets="allow", parsed=secret_read("jsonpath={.data.password}"))
    assert out.stdout == text


def test_known_secrets_are_redacted_raw_and_in_base64_anywhere(redactor: Redactor) -> None:
    token = "caller-token-9f8e7d6c5b4a"
    text = f"a {token} b {s.b64(token)} c {s.b64('xx' + token + 'yy')}\n"
    out = redactor.redact(s.raw(text), known_secrets=[token, "short"])
    assert token not in out.stdout
    assert s.b64(token).rstrip("=")[:-2] not in out.stdout
    assert out.redactions["known-secret"] == 3


def test_short_known_secrets_are_ignored(redactor: Redactor) -> None:
    out = redactor.redact(s.raw("admin logged in\n"), known_secrets=["admin"])
    assert out.stdout == "admin logged in\n"


def test_raw_metadata_is_copied_and_bytes_counted(redactor: Redactor) -> None:
    raw = RawOutput(
        stdout=b"ok\xff\n", stderr=b"warn\n", exit_code=3, duration_ms=9.0, truncated=True, timed_out=True
    )
    out = redactor.redact(raw)
    assert (out.exit_code, out.duration_ms, out.truncated, out.timed_out) == (3, 9.0, True, True)
    assert out.output_bytes == 9
    assert out.stdout == "ok\ufffd\n"


@pytest.mark.parametrize(
    "text",
    [
        s.SECRET_YAML,
        s.SECRET_JSON,
        s.KUBECONFIG_RAW,
        s.POD_SECRET_ENV,
        s.LOGS,
        s.LAST_APPLIED_SECRET,
        s.DOCKER_CONFIG,
        s.HELM_RELEASE,
        s.SECRET_STRINGDATA,
    ],
)
def test_redacting_twice_changes_nothing(redactor: Redactor, text: str) -> None:
    once = redactor.redact(s.raw(text)).stdout
    again = redactor.redact(s.raw(once))
    assert again.stdout == once
    assert again.redaction_count == 0


def test_redact_text_uses_patterns_and_known_secrets(redactor: Redactor) -> None:
    text, counts = redactor.redact_text(
        "get pods --token=abcdef0123456789 -H 'Authorization: Bearer zzzzzzzzzzzz'",
        known_secrets=["abcdef0123456789"],
    )
    assert "abcdef0123456789" not in text
    assert "zzzzzzzzzzzz" not in text
    assert counts["bearer"] == 1
