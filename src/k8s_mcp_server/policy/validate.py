"""Policy file text → CompiledPolicy, or PolicyError with every problem, positioned and sorted by line."""

from __future__ import annotations

import hashlib
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode

from k8s_mcp_server.contracts import SecretsMode
from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy.fields import Fields
from k8s_mcp_server.policy.globs import GlobSet
from k8s_mcp_server.policy.model import CompiledPolicy, CompiledRule, Effect
from k8s_mcp_server.policy.rules import RuleContext, RuleReader
from k8s_mcp_server.policy.vocab import Vocabulary, parser_vocabulary
from k8s_mcp_server.policy.yamlnodes import Problems, compose, describe, did_you_mean, scalar

TOP_KEYS = (
    "version",
    "mode",
    "default",
    "read_only",
    "secrets",
    "namespaces",
    "clusters",
    "identity_mode",
    "pipes",
    "flags",
    "rules",
)
MAX_POLICY_BYTES = 1024 * 1024  # a policy is a page of YAML; a bigger file is a mistake or an attack


def revision_of(data: bytes) -> str:
    """The content hash every audit record cites."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def load_policy(path: Path, *, vocabulary: Vocabulary | None = None) -> CompiledPolicy:
    """Read, validate and compile a policy file. Raises PolicyError listing every problem."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(
            [f"{source}:1:1: cannot read the policy file: {exc.strerror or type(exc).__name__}"]
        ) from None
    return compile_bytes(data, source=source, vocabulary=vocabulary)


def compile_bytes(data: bytes, *, source: str, vocabulary: Vocabulary | None = None) -> CompiledPolicy:
    """Validate and compile policy file bytes (UTF-8)."""
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError([f"{source}:1:1: the policy file is larger than {MAX_POLICY_BYTES} bytes"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            [f"{source}:1:1: the policy file is not UTF-8 (bad byte at offset {exc.start})"]
        ) from None
    return _compile(text, source=source, revision=revision_of(data), vocab=vocabulary or parser_vocabulary())


def compile_policy(
    text: str, *, source: str = "<string>", vocabulary: Vocabulary | None = None
) -> CompiledPolicy:
    """Validate and compile policy text. Raises PolicyError listing every problem, sorted by line."""
    return compile_bytes(text.encode("utf-8"), source=source, vocabulary=vocabulary)


def _compile(text: str, *, source: str, revision: str, vocab: Vocabulary) -> CompiledPolicy:
    problems = Problems(source)
    root = compose(text, problems)
    policy = _build(root, problems, vocab, source=source, revision=revision) if root is not None else None
    if problems or policy is None:
        raise PolicyError(problems.rendered())
    return policy


def _build(
    root: Node, problems: Problems, vocab: Vocabulary, *, source: str, revision: str
) -> CompiledPolicy | None:
    fields = Fields(problems)
    mapping = fields.mapping(root, "the policy")
    if mapping is None:
        return None
    values = dict(fields.keys(mapping, TOP_KEYS, "the policy"))
    _version(values.get("version"), root, problems)
    mode = fields.choice(values["mode"], "mode", ("enforce", "dry-run")) if "mode" in values else "enforce"
    default = (
        fields.choice(values["default"], "default", ("deny", "allow")) if "default" in values else "deny"
    )
    read_only = fields.boolean(values["read_only"], "read_only") if "read_only" in values else True
    secrets = (
        fields.choice(values["secrets"], "secrets", ("redact", "deny", "allow"))
        if "secrets" in values
        else "redact"
    )
    allow, deny = _namespaces(values.get("namespaces"), fields)
    pipes = _pipes(values.get("pipes"), fields, vocab)
    clusters = fields.namespace_globs(values["clusters"], "clusters") if "clusters" in values else None
    identity_mode = (
        fields.choice(values["identity_mode"], "identity_mode", ("any", "impersonate", "caller-kubeconfig"))
        if "identity_mode" in values
        else "any"
    )
    flags = _flags(values.get("flags"), fields, vocab)
    context = RuleContext(read_only=read_only, secrets=_secrets_mode(secrets), namespaces_deny=deny)
    rules: list[CompiledRule] = (
        RuleReader(fields, vocab, context).read_all(values["rules"]) if "rules" in values else []
    )
    if problems or None in (mode, default, read_only, secrets, deny):
        return None
    return CompiledPolicy(
        source=source,
        revision=revision,
        mode="dry-run" if mode == "dry-run" else "enforce",
        default=_effect(default),
        read_only=bool(read_only),
        secrets=_secrets_mode(secrets) or "redact",
        namespaces_allow=allow,
        namespaces_deny=deny or GlobSet.compile(()),
        pipes=pipes,
        flags_allow=flags,
        rules=tuple(rules),
        clusters_allow=None if clusters is None else GlobSet.compile(i.value for i in clusters),
        identity_mode=identity_mode or "any",
    )


def _version(node: Node | None, root: Node, problems: Problems) -> None:
    if node is None:
        problems.add(root, "'version' is missing; add 'version: 1' as the first line")
        return
    value = scalar(node) if isinstance(node, ScalarNode) else None
    if type(value) is not int or value != 1:
        found = describe(node)
        problems.add(node, f"version must be 1 (the only policy format), found {found}; write 'version: 1'")


def _namespaces(node: Node | None, fields: Fields) -> tuple[GlobSet | None, GlobSet | None]:
    empty = GlobSet.compile(())
    if node is None:
        return None, empty
    mapping = fields.mapping(node, "namespaces")
    if mapping is None:
        return None, None
    values = dict(fields.keys(mapping, ("allow", "deny"), "namespaces"))
    allow = fields.namespace_globs(values["allow"], "namespaces.allow") if "allow" in values else None
    deny = fields.namespace_globs(values["deny"], "namespaces.deny") if "deny" in values else []
    if deny is None:
        return None, None
    denied = {item.value for item in deny}
    for item in allow or []:
        if item.value in denied:
            fields.problems.add(
                item.node, f"namespace '{item.value}' is both allowed and denied; deny wins, remove one"
            )
    if "*" in denied and allow:
        fields.problems.add(
            values["deny"], "deny: ['*'] refuses every namespace, so namespaces.allow has no effect"
        )
    compiled_allow = None if allow is None else GlobSet.compile(i.value for i in allow)
    return compiled_allow, GlobSet.compile(i.value for i in deny) if deny else empty


def _pipes(node: Node | None, fields: Fields, vocab: Vocabulary) -> tuple[str, ...]:
    items = fields.text_list(node, "pipes") if node is not None else []
    good = []
    for item in items or []:
        if item.value in vocab.filters:
            good.append(item.value)
        else:
            fields.problems.add(
                item.node,
                f"unknown filter '{item.value}' in pipes{did_you_mean(item.value, vocab.filters)}; "
                f"filters the parser can check: {', '.join(sorted(vocab.filters))}",
            )
    return tuple(good)


def _flags(node: Node | None, fields: Fields, vocab: Vocabulary) -> frozenset[str]:
    if node is None:
        return frozenset()
    mapping = fields.mapping(node, "flags")
    if not isinstance(mapping, MappingNode):
        return frozenset()
    values = dict(fields.keys(mapping, ("allow",), "flags"))
    items = fields.text_list(values["allow"], "flags.allow") if "allow" in values else []
    known = vocab.all_guarded_flags()
    names = set()
    for item in items or []:
        name = item.value.lstrip("-")
        if name in known:
            names.add(name)
        else:
            fields.problems.add(
                item.node,
                f"'{item.value}' is not a guarded flag{did_you_mean(name, known)}; flags.allow only names "
                "flags the engine refuses by default (other flags need no permission)",
            )
    return frozenset(names)


def _secrets_mode(value: str | None) -> SecretsMode | None:
    return (
        "deny"
        if value == "deny"
        else "allow"
        if value == "allow"
        else "redact"
        if value == "redact"
        else None
    )


def _effect(value: str | None) -> Effect:
    return "allow" if value == "allow" else "deny"
