"""`k8s-mcp-server keys create | explain`: mint a key (printed once, never stored) and explain a
command under the policy a principal's key names."""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
from pathlib import Path
from typing import TextIO

import yaml

from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.keys.file import ANONYMOUS, load_api_keys, valid_principal

KEY_PREFIX = "kms_"
KEY_BYTES = 32  # secrets.token_urlsafe(32): 256 bits from the OS CSPRNG
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_keys_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="create API keys; explain a principal's policy")
    sub = keys.add_subparsers(dest="keys_command", required=True)

    create = sub.add_parser(
        "create", help="print a new API key once and the keys-file entry to add (stores nothing)"
    )
    create.add_argument("principal", metavar="PRINCIPAL", help="who uses the key (audit, metrics, limits)")
    create.add_argument("--policy", type=Path, metavar="FILE", help="this principal's own policy file")
    create.set_defaults(func=create_command)

    explain = sub.add_parser(
        "explain", help="`policy explain` under the policy that NAME's key names in the keys file"
    )
    explain.add_argument("--principal", required=True, metavar="NAME", help="whose policy to use")
    explain.add_argument("--keys", type=Path, required=True, metavar="FILE", help="the API keys file")
    explain.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="the server's default policy, for principals whose key names none (default: K8S_MCP_POLICY)",
    )
    explain.add_argument("-n", "--namespace", help="the request's namespace field")
    explain.add_argument("--default-namespace", default="default", help="the kubeconfig's namespace")
    explain.add_argument("command", nargs=argparse.REMAINDER, help="-- TOOL ARGS...")
    explain.set_defaults(func=explain_command)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def key_entry(principal: str, key: str, policy: Path | None) -> str:
    """The YAML list item to paste under `keys:` (hash only; the key itself never goes in the file)."""
    entry: dict[str, str] = {"principal": principal, "sha256": hashlib.sha256(key.encode()).hexdigest()}
    if policy is not None:
        entry["policy"] = str(policy)
    text: str = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False)
    return text


def create_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = sys.stderr if out is sys.stdout else out
    if not valid_principal(args.principal):
        print(
            f"invalid principal {args.principal!r}: use letters, digits and . _ @ : - "
            f"(at most 128 characters, not `{ANONYMOUS}`)",
            file=err,
        )
        return EXIT_USAGE
    policy: Path | None = args.policy
    if policy is not None:
        from k8s_mcp_server.policy import load_policy

        try:
            load_policy(policy)
        except PolicyError as exc:
            print(f"the policy {policy} is not valid; no key was created:", file=err)
            for problem in exc.problems:
                print(f"  {problem}", file=err)
            return EXIT_FAIL
        policy = policy.resolve()
    key = new_key()
    print(f"API key for {args.principal} (shown once; it is not stored anywhere):\n\n    {key}\n", file=out)
    print(
        "The keys file (K8S_MCP_API_KEYS_FILE): a new one is this whole block; to an existing one, add the "
        "`- principal` entry under its `keys:`\n",
        file=out,
    )
    entry = key_entry(args.principal, key, policy)
    print("keys:\n" + "".join(f"  {line}\n" for line in entry.splitlines()), file=out, end="")
    print("\nClients send it as `Authorization: Bearer <key>`.", file=out)
    return EXIT_OK


def policy_file_for(principal: str, keys_file: Path, default: Path) -> Path:
    """The policy a principal's requests are evaluated under; LookupError if no key names it."""
    if principal == ANONYMOUS:
        return default
    matches = [key for key in load_api_keys(keys_file) if key.principal == principal]
    if not matches:
        raise LookupError(f"no key in {keys_file} names the principal {principal!r}")
    policies = {key.policy for key in matches}
    if len(policies) > 1:
        raise LookupError(f"{principal!r} has keys naming different policies in {keys_file}")
    return policies.pop() or default


def explain_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from k8s_mcp_server.policy.cli import explain_command as policy_explain
    from k8s_mcp_server.settings import Settings

    out = out or sys.stdout
    default = args.policy or Settings().policy
    try:
        path = policy_file_for(args.principal, args.keys, default)
    except (OSError, ValueError, LookupError) as exc:
        reason = str(exc) if not isinstance(exc, OSError) else f"cannot read {args.keys}"
        print(reason, file=out)
        return EXIT_USAGE
    print(f"principal:  {args.principal}", file=out)
    return policy_explain(argparse.Namespace(**{**vars(args), "file": path}), out)
