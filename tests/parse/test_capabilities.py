"""Commands are judged by what they can do: print objects, run code, mint credentials, escalate."""

from __future__ import annotations

import pytest

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import compile_policy, evaluate
from k8s_mcp_server.redact.command import reads_secrets

C = CommandClass


@pytest.mark.parametrize(
    ("command", "cls", "resources"),
    [
        ("get -o go-template='{{.data}}' -- secrets db-creds", C.SENSITIVE_READ, ("secrets",)),
        ("get -o yaml -- secrets db-creds", C.SENSITIVE_READ, ("secrets",)),
        ("describe -- secret db-creds", C.SENSITIVE_READ, ("secrets",)),
        ("wait --for=delete secret/db -o yaml", C.SENSITIVE_READ, ("secrets",)),
        ("config view --flatten", C.CREDENTIAL, ()),
        ("config view --raw", C.CREDENTIAL, ()),
        ("create secret generic t --type=kubernetes.io/service-account-token", C.CREDENTIAL, ("secrets",)),
        (
            "create clusterrolebinding x --clusterrole=cluster-admin --serviceaccount=default:x",
            C.CREDENTIAL,
            None,
        ),
        ("create rolebinding x --clusterrole=admin --group=devs", C.CREDENTIAL, None),
        ("create serviceaccount agent", C.CREDENTIAL, ("serviceaccounts",)),
        ("create role r --verb=get --resource=pods", C.CREDENTIAL, ("roles",)),
        ("label clusterrole view x=y", C.CREDENTIAL, ("clusterroles",)),
        ("delete rolebinding admin-binding", C.CREDENTIAL, ("rolebindings",)),
        ("patch sa default -p '{\"automountServiceAccountToken\":true}'", C.CREDENTIAL, ("serviceaccounts",)),
        ("set serviceaccount deploy web builder", C.CREDENTIAL, ("deployments",)),
        ("set subject clusterrolebinding admin --user=me", C.CREDENTIAL, ("clusterrolebindings",)),
        ("create deployment x --image=busybox -- sh -c id", C.EXEC, ("deployments",)),
        ("create deployment x --image=busybox", C.EXEC, ("deployments",)),
        ("create job j --image=busybox -- date", C.EXEC, ("jobs",)),
        ("create cronjob c --image=busybox --schedule='*/1 * * * *' -- date", C.EXEC, ("cronjobs",)),
        ("set image deploy/web app=evil:latest", C.EXEC, ("deployments",)),
        ('patch deploy web -p \'{"spec":{"template":{"spec":{"containers":[]}}}}\'', C.EXEC, None),
        (
            'patch pod web --type=json -p \'[{"op":"replace","path":"/spec/containers/0/image"}]\'',
            C.EXEC,
            None,
        ),
        ('patch sts db -p \'{"spec":{"template":{"spec":{"volumes":[]}}}}\'', C.EXEC, None),
        ('patch deploy web -p \'{"spec":{"replicas":2}}\'', C.WRITE, ("deployments",)),
        ('patch configmap c -p \'{"data":{"image":"x"}}\'', C.WRITE, ("configmaps",)),
        ("set env deploy/web --list --resolve", C.SENSITIVE_READ, ("deployments", "secrets")),
        ("set env deploy/web --list", C.READ, ("deployments",)),
        ("set env deploy/web --from=secret/db", C.WRITE, ("deployments", "secrets")),
        ("edit deploy web", C.EXEC, ("deployments",)),
        ("edit --help", C.LOCAL, ()),
        ("delete --help", C.LOCAL, ()),
        ("create token -h", C.LOCAL, ()),
    ],
)
def test_kubectl_commands_get_the_class_of_what_they_can_do(
    command: str, cls: CommandClass, resources: tuple[str, ...] | None
) -> None:
    parsed = parse_command("kubectl", command)
    assert parsed.command_class is cls
    if resources is not None:
        assert parsed.resources == resources


def test_exec_after_dashes_stays_the_containers_command_not_resources() -> None:
    parsed = parse_command("kubectl", "exec web -- cat secrets")
    assert parsed.resources == ("pods",) and parsed.names == ("web",)


@pytest.mark.parametrize(
    ("command", "fmt"),
    [
        ("get secret db --template '{{.data.password}}'", "go-template={{.data.password}}"),
        ("get secret db -o go-template --template='{{.data}}'", "go-template={{.data}}"),
        ("get secret db -o jsonpath --template='{.data}'", "jsonpath={.data}"),
        ("get secret db -o yaml --template='{{.data}}'", "yaml"),
        ("get secret db -o go-template='{{.data}}'", "go-template={{.data}}"),
    ],
)
def test_the_effective_output_format_includes_a_template_given_apart(command: str, fmt: str) -> None:
    assert parse_command("kubectl", command).output_format == fmt


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        # a template over a Secret is refused before the policy's own checks, whatever its mode
        ("label secret db a=b --dry-run=client -o go-template='{{.data.password}}'", "builtin:templates"),
        ("annotate secret db a=b -o yaml", "builtin:secrets"),
        ("label secret db a=b --template='{{.data}}'", "builtin:templates"),
    ],
)
def test_a_write_that_prints_a_secret_reads_it_for_the_policy_and_the_redactor(
    command: str, rule: str
) -> None:
    parsed = parse_command("kubectl", command)
    assert parsed.prints_objects and reads_secrets(parsed)
    policy = compile_policy("version: 1\ndefault: allow\nread_only: false\nsecrets: deny\n")
    assert evaluate(policy, parsed).rule == rule


def test_a_write_that_prints_only_names_is_not_a_secret_read() -> None:
    parsed = parse_command("kubectl", "label secret db a=b -o name")
    assert not parsed.prints_objects and not reads_secrets(parsed)


@pytest.mark.parametrize(
    ("command", "namespaces"),
    [
        ("cluster-info dump", ("default", "kube-system")),
        ("cluster-info dump --namespaces a,b", ("default", "a", "b")),
        ("cluster-info dump --namespaces=kube-system -n dev", ("dev", "kube-system")),
        ("cluster-info dump -A", ("*",)),
    ],
)
def test_cluster_info_dump_touches_the_namespaces_kubectl_dumps(
    command: str, namespaces: tuple[str, ...]
) -> None:
    assert parse_command("kubectl", command).namespaces == namespaces


def test_kubectl_edit_is_never_run_even_in_dry_run_mode_or_when_everything_is_allowed() -> None:
    policy = compile_policy(
        "version: 1\nmode: dry-run\ndefault: allow\nread_only: false\nflags:\n  allow: [v]\n"
    )
    decision = evaluate(policy, parse_command("kubectl", "edit secret db"))
    assert not decision.allowed and decision.rule == "builtin:never-run"
    assert "editor" in decision.reason and "patch" in decision.reason


@pytest.mark.parametrize("command", ["app edit guestbook", "proj edit default"])
def test_argocd_edit_opens_no_editor_on_the_proxy_host(command: str) -> None:
    parsed = parse_command("argocd", command)
    assert parsed.never_runs is not None and parsed.command_class is C.EXEC
    policy = compile_policy("version: 1\ndefault: allow\nread_only: false\n")
    assert evaluate(policy, parsed).rule == "builtin:never-run"
    assert parse_command("argocd", f"{command} --help").command_class is C.LOCAL


@pytest.mark.parametrize(
    ("command", "refused"),
    [
        ("get pods -o jsonpath='{.items[*].status.phase}'", False),
        ("get pods -o jsonpath='{.items[*].spec.nodeName}'", False),
        ("get deploy -o custom-columns=N:.metadata.name,R:.status.readyReplicas", False),
        ("get pods -o jsonpath='{.items[*].status}'", True),  # the whole status holds messages
        ("get pods -o jsonpath='{.items[*].status.containerStatuses[*].state}'", True),
        ("get secret db -o jsonpath='{.status.phase}{.data}'", True),
    ],
)
def test_templates_of_where_and_how_far_run_and_others_over_workloads_are_refused(
    command: str, refused: bool
) -> None:
    from k8s_mcp_server.parse.templates import template_refusal

    assert (template_refusal(parse_command("kubectl", command)) is not None) is refused
