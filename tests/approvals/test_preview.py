"""What the approver's preview runs: the same command as a server-side dry run (never the command
itself), scale as the spec.replicas change it makes, and nothing for commands without a dry run."""

from __future__ import annotations

import json

import pytest

from k8s_mcp_server.approvals.preview import object_diff, plan
from k8s_mcp_server.parse import parse_command


def planned(tool: str, command: str) -> tuple[str, tuple[str, ...], tuple[str, ...] | None] | None:
    found = plan(parse_command(tool, command))
    return None if found is None else (found.method, found.dry_run, found.current)


def test_scale_previews_the_replicas_patch_as_a_server_dry_run_and_reads_the_object_as_it_is() -> None:
    method, dry, current = planned("kubectl", "scale deploy/api --replicas=3 -n dev")  # type: ignore[misc]
    assert method == "server-dry-run"
    assert dry[:3] == ("patch", "deployments", "api") and dry[-3:] == ("--dry-run=server", "-o", "yaml")
    assert json.loads(dry[dry.index("-p") + 1]) == {"spec": {"replicas": 3}}
    assert current == ("get", "deployments", "api", "-n", "dev", "-o", "yaml")


@pytest.mark.parametrize(
    ("tool", "command", "added"),
    [
        ("kubectl", "label deploy/api tier=web -n dev", ("--dry-run=server", "-o", "yaml")),
        ("kubectl", "set image deploy/api api=nginx:2 -n dev", ("--dry-run=server", "-o", "yaml")),
        ("kubectl", "delete pod web-1 -n dev", ("--dry-run=server",)),
        ("helm", "upgrade web repo/web -n dev", ("--dry-run=server",)),
        ("helm", "uninstall web -n dev", ("--dry-run",)),
    ],
)
def test_the_preview_is_the_same_command_with_a_dry_run_added_last(
    tool: str, command: str, added: tuple[str, ...]
) -> None:
    parsed = parse_command(tool, command)
    found = plan(parsed)
    assert found is not None and found.dry_run == (*parsed.argv, *added)


def test_dry_run_flags_go_before_a_double_dash_where_they_are_still_flags() -> None:
    parsed = parse_command("kubectl", "annotate deploy/api -n dev -- note=x")
    found = plan(parsed)
    assert found is not None
    at = found.dry_run.index("--")
    assert "--dry-run=server" in found.dry_run[:at]


def test_commands_without_a_dry_run_get_no_preview_plan() -> None:
    assert plan(parse_command("kubectl", "rollout status deploy/api -n dev")) is None
    assert plan(parse_command("kubectl", "exec web-1 -n dev -- ls")) is None


def test_the_diff_leaves_out_what_changes_on_every_read() -> None:
    before = (
        "metadata:\n  name: api\n  resourceVersion: '1'\n  managedFields: [x]\n"
        "spec:\n  replicas: 1\nstatus:\n  a: 1\n"
    )
    after = "metadata:\n  name: api\n  resourceVersion: '2'\nspec:\n  replicas: 3\nstatus:\n  a: 2\n"
    diff = object_diff(before, after)
    assert "-  replicas: 1" in diff and "+  replicas: 3" in diff
    assert "resourceVersion" not in diff and "managedFields" not in diff and "status" not in diff
