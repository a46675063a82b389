"""What a tool-specific analyzer learns from a Scan, and helpers every analyzer uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.grammar import Scan

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
# `env`/`expandenv` (sprig) read the server's environment, `getHostByName` its network. A name
# counts only as a function inside an action `{{ ... }}`, outside string, raw-string and character
# literals and comments; `.env` (a field, `.spec.containers[].env` too) and `$env` are data.
_ENV_FUNCTION = re.compile(r"(?<![.\w$])(env|expandenv|getHostByName)(?!\w)")
_ACTION_TOKEN = re.compile(
    r'}}|"(?:[^"\\]|\\.)*"?|`[^`]*`?|\'(?:[^\'\\]|\\.)*\'?|/\*.*?(?:\*/|$)|[^"`\'/}]+|.', re.S
)
_TEMPLATE_FORMATS = ("go-template=", "template=", "jsonpath=", "custom-columns=", "jsonpath-as-json=")
_BARE_TEMPLATE_FORMATS = frozenset({"go-template", "template", "jsonpath", "jsonpath-as-json"})
FILE_FORMATS = ("go-template-file", "templatefile", "jsonpath-file", "custom-columns-file")


@dataclass(frozen=True, kw_only=True)
class Facts:
    command_class: CommandClass
    resources: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()  # namespaces named outside -n (e.g. `kubectl cp ns/pod:path`)
    guarded: tuple[str, ...] = ()  # guarded names beyond the guarded flags themselves
    prints_objects: bool = False  # the output carries the objects touched (or fields of them)
    never_runs: str | None = None  # why the proxy never runs this command, whatever the policy


def flag_values(scan: Scan, name: str) -> tuple[str | None, ...]:
    """Every value given to flag `name`, in order (None for a flag given without a value)."""
    return scan.values.get(name, ())


def flag_on(scan: Scan, name: str) -> bool:
    """Whether boolean flag `name` ends up true (pflag: the last occurrence wins)."""
    values = flag_values(scan, name)
    return bool(values) and (values[-1] is None or values[-1] in _TRUE)


def last_value(scan: Scan, name: str) -> str | None:
    values = [v for v in flag_values(scan, name) if v is not None]
    return values[-1] if values else None


def _template_actions(text: str) -> str:
    """The code of every `{{ ... }}` action, literals and comments blanked; text outside actions is
    printed as is, so it is left out. An action without `}}` runs to the end (read as code)."""
    code: list[str] = []
    i, end = text.find("{{"), len(text)
    while i >= 0:
        j = i + 2
        while j < end:
            token = _ACTION_TOKEN.match(text, j)
            if token is None or token.group() == "}}":
                break
            piece = token.group()
            code.append(" " if piece[0] in "\"`'" or piece.startswith("/*") else piece)
            j = token.end()
        code.append(" ")
        i = text.find("{{", j + 2) if j < end else -1
    return "".join(code)


def check_template(text: str, where: str) -> None:
    """Refuse template functions that read the server's environment or network."""
    if "{{" in text and _ENV_FUNCTION.search(text) and _ENV_FUNCTION.search(_template_actions(text)):
        raise CommandError(
            f"{where} uses a template function that reads the server's environment (env/expandenv); remove it"
        )


def output_format(scan: Scan) -> tuple[str | None, tuple[str, ...]]:
    """The effective output format, checked; `output` as a guarded name when it reads a server file.

    As kubectl reads it: `--template` without `-o` is a go-template,
    and `-o go-template|template|jsonpath|jsonpath-as-json` without `=` takes its template from
    `--template`; the effective format is then `FAMILY=TEMPLATE`, so the redactor and the policy see
    the template that really runs, wherever the caller wrote it.
    """
    fmt = last_value(scan, "output")
    template = last_value(scan, "template")
    guarded: tuple[str, ...] = ()
    for value in flag_values(scan, "template"):
        if value is not None:
            check_template(value, "--template")
    if template is not None:
        family = (fmt or "go-template").strip()
        if family in FILE_FORMATS:
            guarded = ("output",)
        elif family in _BARE_TEMPLATE_FORMATS:
            fmt = f"{family}={template}"
    if fmt is not None:
        if fmt.startswith(FILE_FORMATS):
            guarded = ("output",)
        elif fmt.startswith(_TEMPLATE_FORMATS):
            check_template(fmt, "the output format")
    return fmt, guarded
