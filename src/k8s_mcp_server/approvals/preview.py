"""The approver's preview: the same command as a server-side dry run, with the request's credentials.

kubectl: the command with `--dry-run=server -o yaml` (the API server runs admission and returns the
object it would store, changing nothing), and, when the command names its objects, those objects as
they are now (`get ... -o yaml`) so the preview can show a diff of the two. helm install/upgrade:
`--dry-run=server`. Both outputs pass through the pipeline's redactor in one response (so a value
redacted in both shows one placeholder) with `secrets: redact` whatever the policy says: the
preview is read by someone other than the requester.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from k8s_mcp_server.approvals.model import Preview
from k8s_mcp_server.audit.secrets import redact_command
from k8s_mcp_server.contracts import ParsedCommand, RedactedOutput
from k8s_mcp_server.errors import CommandError, ProxyError
from k8s_mcp_server.execute import Access, Executor
from k8s_mcp_server.kubeconfig import Kubeconfig
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.redact import Redactor, ResponseRedaction

# A preview is a look, not the work: it gets less time than the command would.
PREVIEW_TIMEOUT = 20.0
# Each stored text is cut here: enough for a Deployment's diff, bounded for the store and the wire.
MAX_PREVIEW_CHARS = 64 * 1024

# kubectl commands whose server-side dry run prints the object it would store
_KUBECTL_PRINTS = frozenset(
    {
        "scale",
        "patch",
        "label",
        "annotate",
        "apply",
        "create",
        "replace",
        "autoscale",
        "expose",
        "taint",
        "rollout restart",
        "rollout undo",
        "rollout pause",
        "rollout resume",
    }
)
# kubectl commands with a server-side dry run that only says what it would do
_KUBECTL_SAYS = frozenset({"delete", "cordon", "uncordon", "drain"})
_HELM = {
    "install": "--dry-run=server",
    "upgrade": "--dry-run=server",
    "rollback": "--dry-run",
    "uninstall": "--dry-run",
}
# fields that differ between any two reads of an object and say nothing about the change
_NOISE = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


@dataclass(frozen=True, kw_only=True)
class Plan:
    method: str
    dry_run: tuple[str, ...]  # the tool's argv
    current: tuple[str, ...] | None = None  # kubectl get of the named objects, for the diff


def plan(parsed: ParsedCommand) -> Plan | None:
    """What to run for a preview of `parsed`, or None when its CLI cannot show the effect safely."""
    verb = parsed.verb
    if parsed.tool == "kubectl" and (verb in _KUBECTL_PRINTS or verb.startswith("set ")):
        current = None
        namespace = parsed.namespaces[0] if len(parsed.namespaces) == 1 else None
        names = [n.rpartition("/")[2] for n in parsed.names]
        if (
            len(parsed.resources) == 1
            and names
            and not parsed.cluster_scoped
            and namespace
            and namespace != "*"
        ):
            current = ("get", parsed.resources[0], *names, "-n", namespace, "-o", "yaml")
        if verb == "scale" and current is not None and len(names) == 1:
            replicas = _replicas(parsed)
            if replicas is not None:
                # kubectl scale --dry-run prints the object as it was, not as it would be: the preview
                # dry-runs the change itself, spec.replicas, as the scale subresource would set it
                patch = json.dumps({"spec": {"replicas": replicas}}, separators=(",", ":"))
                resource = parsed.resources[0]
                dry = ("patch", resource, names[0], "-n", str(namespace), "--type=merge", "-p", patch)
                return Plan(
                    method="server-dry-run",
                    dry_run=_with(dry, "--dry-run=server", "-o", "yaml"),
                    current=current,
                )
        return Plan(
            method="server-dry-run",
            dry_run=_with(parsed.argv, "--dry-run=server", "-o", "yaml"),
            current=current,
        )
    if parsed.tool == "kubectl" and verb in _KUBECTL_SAYS:
        return Plan(method="server-dry-run", dry_run=_with(parsed.argv, "--dry-run=server"))
    if parsed.tool == "helm" and verb in _HELM:
        return Plan(method="helm-dry-run", dry_run=_with(parsed.argv, _HELM[verb]))
    return None


async def preview(
    parsed: ParsedCommand,
    *,
    executor: Executor,
    redactor: Redactor,
    kubeconfig: Kubeconfig | None,
    access: Access,
    known_secrets: Sequence[str],
    default_namespace: str,
) -> Preview:
    """Run the preview (the caller holds a place in the executor) and return it redacted."""
    found = plan(parsed)
    if found is None:
        return Preview(
            available=False,
            method="none",
            note=f"{parsed.tool} {parsed.verb} has no dry run this server can show; judge it by the command",
        )
    redaction = redactor.start()
    commands = [redact_command(shlex.join((parsed.tool, *found.dry_run)))]
    try:
        dry = await _run(
            parsed.tool,
            found.dry_run,
            executor,
            redaction,
            kubeconfig,
            access,
            known_secrets,
            default_namespace,
        )
        current = None
        if found.current is not None and dry.exit_code == 0:
            commands.append(redact_command(shlex.join((parsed.tool, *found.current))))
            current = await _run(
                parsed.tool,
                found.current,
                executor,
                redaction,
                kubeconfig,
                access,
                known_secrets,
                default_namespace,
            )
    except ProxyError as exc:
        return Preview(
            available=False,
            method=found.method,
            commands=tuple(commands),
            note=f"the preview could not run: {exc.code}",
        )
    diff = ""
    if current is not None and current.exit_code == 0:
        diff = await asyncio.to_thread(object_diff, current.stdout, dry.stdout)
    return Preview(
        available=dry.exit_code == 0,
        method=found.method,
        commands=tuple(commands),
        diff=_cut(diff),
        output=_cut(dry.stdout),
        error=_cut(dry.stderr),
        exit_code=dry.exit_code,
        note="" if dry.exit_code == 0 else "the dry run failed: the command as sent would fail too",
    )


def object_diff(before: str, after: str) -> str:
    """A unified diff of two YAML renderings of the same objects, without per-read noise."""
    old, new = _normalised(before), _normalised(after)
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "current", "after", lineterm="", n=3)
    return "\n".join(lines)


async def _run(
    tool: str,
    argv: tuple[str, ...],
    executor: Executor,
    redaction: ResponseRedaction,
    kubeconfig: Kubeconfig | None,
    access: Access,
    known_secrets: Sequence[str],
    default_namespace: str,
) -> RedactedOutput:
    try:  # parsed as any command is, so the redactor knows what the output holds
        parsed = parse_command(tool, shlex.join(argv), default_namespace=default_namespace)
    except CommandError:
        parsed = None
    raw = await executor.run(
        [(tool, *argv)],
        kubeconfig=kubeconfig.sanitized if kubeconfig else None,
        timeout=PREVIEW_TIMEOUT,
        cache_key=kubeconfig.cluster.fingerprint if kubeconfig else None,
        admitted=True,
        access=access,
    )
    return redaction.finish(raw, secrets="redact", known_secrets=known_secrets, parsed=parsed)


def _replicas(parsed: ParsedCommand) -> int | None:
    values = [f.value for f in parsed.flags if f.name == "replicas"]
    if len(values) != 1 or values[0] is None or not values[0].isdigit():
        return None
    return int(values[0])


def _with(argv: tuple[str, ...], *flags: str) -> tuple[str, ...]:
    """`argv` with `flags` added before any `--` (after it they would be positionals); last wins."""
    if "--" in argv:
        at = argv.index("--")
        return (*argv[:at], *flags, *argv[at:])
    return (*argv, *flags)


def _normalised(text: str) -> str:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return text
    for doc in docs:
        _drop_noise(doc)
    return "---\n".join(yaml.safe_dump(d, sort_keys=True, default_flow_style=False) for d in docs)


def _drop_noise(node: object) -> None:
    if isinstance(node, dict):
        metadata = node.get("metadata")
        if isinstance(metadata, dict):
            for key in _NOISE:
                metadata.pop(key, None)
        node.pop("status", None)
        for item in node.get("items", []) if isinstance(node.get("items"), list) else []:
            _drop_noise(item)


def _cut(text: str) -> str:
    if len(text) <= MAX_PREVIEW_CHARS:
        return text
    return text[:MAX_PREVIEW_CHARS] + "\n[preview cut at 64 KiB]"
