"""Every example in the pinned kubectl's and helm's own `--help` pages, read at test time.

Each example that needs no shell (no redirection, command list, substitution, variable, or pipe
into anything but an allowed filter) must be understood: parsed, never `invalid_command`. And under
policies/default.yaml, no example of a command that changes the cluster, runs code or mints
credentials is allowed; that list of verbs is written out here, independently of the parser's own
classes, so a misclassified verb fails this test.
"""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import evaluate, load_policy
from tests.support.clibin import pinned_bin

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "cli-reference"  # upstream generated references, read in place
_COMMAND_LINE = re.compile(r"^  ([a-z][a-z0-9-]*)(?:,? [a-z, -]*)?\s{2,}\S")
_FILTERS = {"grep", "head", "tail", "wc", "sort", "jq"}
# Shell syntax outside single quotes: what only a shell would read.
# `$'...'` (ANSI-C quoting) is a shell's too: the proxy may refuse it, saying how to write it.
_SHELL = re.compile(r"[<>;&`]|\$\(|\$[A-Za-z_{']|\|\|")
# Verbs (first words after the tool) that change the cluster, run code or mint credentials.
_MUTATING = {
    "kubectl": {
        "create", "apply", "delete", "edit", "patch", "replace", "scale", "autoscale", "label",
        "annotate", "expose", "drain", "cordon", "uncordon", "taint", "set", "certificate", "run",
        "exec", "attach", "cp", "port-forward", "proxy", "debug",
        "rollout restart", "rollout undo", "rollout pause", "rollout resume",
        "config set", "config set-context", "config set-cluster", "config set-credentials",
        "config unset", "config use-context", "config delete-context", "config rename-context",
        "config delete-cluster", "config delete-user", "auth reconcile", "create token",
    },
    "helm": {
        "install", "upgrade", "rollback", "uninstall", "test", "plugin install", "plugin update",
        "plugin uninstall", "registry login", "repo add", "repo remove", "push", "create",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    tool: str
    page: str
    command: str  # without the tool name


def _help(binary: Path, path: tuple[str, ...]) -> str:
    proc = subprocess.run(
        [str(binary), *path, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return proc.stdout


def _subcommands(text: str) -> list[str]:
    found: list[str] = []
    in_list = False
    for line in text.splitlines():
        if line.rstrip().endswith(":") and "ommands" in line and not line.startswith(" "):
            in_list = True
            continue
        if in_list and not line.strip():
            in_list = False
            continue
        if in_list and (m := _COMMAND_LINE.match(line)) and m.group(1) not in ("help", "completion"):
            found.append(m.group(1))
    return found


def _example_lines(tool: str, text: str) -> list[str]:
    """Example command lines: the `Examples:` section (kubectl), `$ helm ...` lines (helm)."""
    out: list[str] = []
    lines = text.splitlines()
    if tool == "kubectl":
        inside = False
        pending = ""
        for line in lines:
            if line.startswith("Examples:"):
                inside = True
                continue
            if inside and line and not line.startswith(" "):
                break
            stripped = line.strip()
            if not inside or not stripped or stripped.startswith("#"):
                continue
            pending = f"{pending} {stripped}".strip()
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            if pending.startswith("kubectl "):
                out.append(pending)
            pending = ""
        return out
    for line in lines:
        if line.startswith(("Usage:", "Flags:", "Available Commands:")):
            break  # examples are in the long description; below come usage lines and flag tables
        stripped = line.strip()
        if stripped.startswith("$ helm "):
            out.append(stripped[2:])
        elif line.startswith(("    helm ", "  helm ")) and not stripped.endswith(":"):
            out.append(stripped)
    return out


@cache
def examples() -> tuple[Example, ...]:
    bin_dir = pinned_bin()
    found: list[Example] = []
    for tool in ("kubectl", "helm"):
        binary = bin_dir / tool
        queue: list[tuple[str, ...]] = [()]
        seen: set[tuple[str, ...]] = set()
        while queue:
            path = queue.pop()
            if path in seen or len(path) > 4:
                continue
            seen.add(path)
            text = _help(binary, path)
            page = " ".join((tool, *path))
            found += [Example(tool, page, line[len(tool) + 1 :]) for line in _example_lines(tool, text)]
            queue += [(*path, sub) for sub in _subcommands(text)]
    return tuple(dict.fromkeys(found))


def _example_block(lines: list[str], tool: str) -> list[str]:
    """Command lines of one examples block: comments and blank lines dropped, `\\` joined."""
    out: list[str] = []
    pending = ""
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending = f"{pending} {stripped}".strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        if pending.startswith(f"{tool} "):
            out.append(pending)
        pending = ""
    return out


@cache
def reference_examples() -> tuple[Example, ...]:
    """Examples of istioctl and argocd from their upstream generated references (see its README)."""
    found: list[Example] = []
    for page in sorted((REFERENCE / "argocd").glob("*/argocd*.md")):
        text = page.read_text()
        if not text.startswith("# `argocd"):
            continue  # not a generated command page (the README names the two)
        match = re.search(r"### Examples\n\n```\n(.*?)```", text, re.S)
        if match:
            lines = _example_block(match.group(1).splitlines(), "argocd")
            found += [Example("argocd", page.stem, line[len("argocd ") :]) for line in lines]
    for index in sorted((REFERENCE / "istioctl").glob("*/index.html")):
        text = index.read_text()
        for block in re.findall(r"Examples</h4>\s*<pre[^>]*><code>(.*?)</code></pre>", text, re.S):
            lines = _example_block(html.unescape(block).splitlines(), "istioctl")
            found += [Example("istioctl", index.parent.name, line[len("istioctl ") :]) for line in lines]
    return tuple(dict.fromkeys(found))


def _unquoted(command: str) -> str:
    return re.sub(r"'[^']*'", "''", command)


def needs_shell(example: Example) -> bool:
    text = _unquoted(example.command)
    if _SHELL.search(text) or ('"' in text and "$" in text):
        return True
    stages = text.split("|")
    return any((stage.split() or [""])[0] not in _FILTERS for stage in stages[1:])


def _verb_words(example: Example) -> str:
    words = [w for w in example.command.split("|")[0].split() if not w.startswith("-")]
    return " ".join(words[:2])


def _mutating(example: Example) -> bool:
    words = _verb_words(example)
    if words == "apply view-last-applied" or (words == "set env" and "--list" in example.command.split()):
        return False  # the two read-only forms under mutating verbs
    verbs = _MUTATING[example.tool]
    return words in verbs or words.split(" ")[0] in verbs


def _refused(examples: list[Example]) -> list[str]:
    """Each example the parser refuses, with where it came from and the parser's message."""
    out = []
    for example in examples:
        try:
            parse_command(example.tool, example.command)
        except CommandError as error:
            out.append(f"{example.page}: {example.tool} {example.command}  -> {error.message}")
    return out


# Examples the proxy understands and still refuses, each for a reason kubectl would share.
_EXPECTED_REFUSALS = {
    "top pod --namespace=NAMESPACE": "a placeholder that is not a valid namespace name",
}


def test_every_help_example_that_needs_no_shell_is_understood() -> None:
    all_examples = examples()
    plain = [e for e in all_examples if not needs_shell(e) and e.command not in _EXPECTED_REFUSALS]
    refused = _refused(plain)
    print(f"\n{len(all_examples)} examples, {len(plain)} need no shell, {len(refused)} refused")
    assert len(plain) > 150  # the walk found the pages (kubectl alone has ~300 examples)
    assert refused == [], "\n".join(refused)


# Upstream examples that their own CLI rejects, or that only show a placeholder: (tool, command).
# Each was checked by hand against the same reference's own `### Options` and `SEE ALSO` sections:
# the flag or subcommand is not there, so argocd v2.14.9 itself rejects the example.
_UPSTREAM_MISTAKES = {
    ("argocd", "get my-app -o json"),  # there is no `argocd get`: the page means `argocd app get`
    (
        "argocd",
        "admin app generate-spec jsonnet-guestbook "
        "--repo https://github.com/argoproj/argocd-example-apps.git --path jsonnet-guestbook "
        "--dest-namespace default --dest-server https://kubernetes.default.svc --jsonnet-ext-str replicas=2",
    ),  # no --jsonnet-ext-str (the flag is --jsonnet-ext-var-str)
    (
        "argocd",
        "app create jsonnet-guestbook --repo https://github.com/argoproj/argocd-example-apps.git "
        "--path jsonnet-guestbook --dest-namespace default --dest-server https://kubernetes.default.svc "
        "--jsonnet-ext-str replicas=2",
    ),  # the same
    ("argocd", "admin cluster namespaces my-cluster"),  # `namespaces` takes a subcommand
    ("argocd", "admin cluster kubeconfig my-cluster --delete"),  # no --delete
    (
        "argocd",
        "admin settings resource-overrides action list /tmp/deploy.yaml --argocd-cm-path ./argocd-cm.yaml",
    ),
    (
        "argocd",
        "admin settings resource-overrides action /tmp/deploy.yaml restart --argocd-cm-path ./argocd-cm.yaml",
    ),
    ("argocd", "app set my-app --parameter key1=value1 --parameter key2=value2 --namespace my-namespace"),
    ("argocd", "app unset my-app --source-name test --namesuffix"),  # no --source-name on unset
    ("argocd", "appset delete APPSETNAME (APPSETNAME...)"),  # a usage line, `(` is shell syntax
    ("argocd", "proj set PROJECT ---deny-namespaced-resource [RES1,RES2,...]"),  # three dashes
    ("argocd", 'proj windows add my-project --schedule "0 0 * * 1-5" --duration 3600 --prune'),
    ("argocd", 'proj windows enable-manual-sync my-app-project --message "Manual sync initiated by admin'),
    # `--namespace '*'` means every namespace to argocd; the proxy reads --namespace as one
    # namespace name and refuses `*` (fail closed: a policy cannot scope "every namespace" here)
    ("argocd", "cluster set CLUSTER_NAME --name new-cluster-name --namespace '*'"),
}


def test_every_reference_example_of_istioctl_and_argocd_that_needs_no_shell_is_understood() -> None:
    found = reference_examples()
    plain = [e for e in found if not needs_shell(e) and (e.tool, e.command) not in _UPSTREAM_MISTAKES]
    refused = _refused(plain)
    by_tool = {tool: sum(e.tool == tool for e in plain) for tool in ("istioctl", "argocd")}
    print(f"\n{len(found)} reference examples, {by_tool} need no shell, {len(refused)} refused")
    assert by_tool["istioctl"] > 30 and by_tool["argocd"] > 100
    assert refused == [], "\n".join(refused)


def test_no_help_example_that_changes_runs_or_mints_is_allowed_by_the_default_policy() -> None:
    policy = load_policy(REPO / "policies" / "default.yaml")
    checked, allowed = 0, []
    for example in examples():
        if needs_shell(example) or not _mutating(example):
            continue
        try:
            parsed = parse_command(example.tool, example.command)
        except CommandError:
            continue  # the first test reports these
        if "--help" in example.command.split() or " -h" in example.command:
            continue
        checked += 1
        if evaluate(policy, parsed).allowed:
            allowed.append(f"{example.tool} {example.command} ({parsed.command_class})")
    print(f"\n{checked} mutating examples decided under default.yaml, {len(allowed)} allowed")
    assert checked > 80
    assert allowed == [], "\n".join(allowed)


@pytest.mark.parametrize(
    ("tool", "command", "expected"),
    [
        ("kubectl", "get pods -o go-template='{{$n := 1}}{{$n}}' | jq .", False),
        ("kubectl", "logs web > out.txt", True),
        ("kubectl", "get pods | kubectl apply -f -", True),
        ("kubectl", "exec web -- sh -c 'echo $HOME'", False),
        ("kubectl", "get pods $(echo x)", True),
    ],
)
def test_the_shell_detector_of_this_test_reads_examples_as_a_shell_would(
    tool: str, command: str, expected: bool
) -> None:
    assert needs_shell(Example(tool, "", command)) is expected
