"""Flags are read as pflag reads them, so the parser and the CLI agree on every positional."""

from __future__ import annotations

import pytest

from k8s_mcp_server.contracts import Flag
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command


def test_flag_before_verb_is_still_seen_as_delete() -> None:
    parsed = parse_command("kubectl", "-n x delete ns prod")
    assert (parsed.verb, parsed.resources, parsed.names) == ("delete", ("namespaces",), ("prod",))


def test_value_flag_consumes_the_next_word_even_if_it_looks_like_a_verb() -> None:
    parsed = parse_command("kubectl", "--context delete get secrets")
    assert parsed.verb == "get"
    assert Flag(name="context", value="delete") in parsed.flags


def test_combined_short_booleans_are_split() -> None:
    parsed = parse_command("kubectl", "exec -itq web -- sh")
    assert [f.name for f in parsed.flags] == ["stdin", "tty", "quiet"]


def test_short_flag_with_attached_value() -> None:
    parsed = parse_command("kubectl", "logs web -capp")
    assert Flag(name="container", value="app") in parsed.flags


def test_logs_f_is_follow_not_filename() -> None:
    parsed = parse_command("kubectl", "logs -f web")
    assert parsed.names == ("web",)
    assert "filename" not in parsed.guarded_flags


def test_get_f_is_filename() -> None:
    assert parse_command("kubectl", "get -f x.yaml").guarded_flags == ("filename",)


def test_double_dash_ends_flags_for_exec() -> None:
    parsed = parse_command("kubectl", "exec web -- ls --kubeconfig /x")
    assert parsed.guarded_flags == ()


def test_flag_that_needs_a_value_at_the_end_is_refused() -> None:
    with pytest.raises(CommandError, match="needs a value"):
        parse_command("kubectl", "get pods -o")


def test_boolean_flag_with_a_non_boolean_value_is_refused() -> None:
    with pytest.raises(CommandError):
        parse_command("kubectl", "get pods -A=yes")


def test_non_global_flag_before_the_verb_is_refused_with_a_hint() -> None:
    with pytest.raises(CommandError, match="after"):
        parse_command("kubectl", "--all delete pods")


def test_output_format_is_recorded() -> None:
    assert parse_command("kubectl", "get pods -o yaml").output_format == "yaml"
    assert parse_command("kubectl", "get pods '-ojsonpath={.a}'").output_format == "jsonpath={.a}"


def test_helm_list_short_flags_differ_from_install() -> None:
    assert parse_command("helm", "list -d -a").guarded_flags == ()
    assert "destination" in parse_command("helm", "pull bitnami/nginx -d /tmp").guarded_flags


def test_argocd_logs_f_is_follow() -> None:
    assert parse_command("argocd", "app logs web -f").guarded_flags == ()
    assert "file" in parse_command("argocd", "app create web -f /etc/app.yaml").guarded_flags
