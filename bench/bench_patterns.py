"""The rule set's engine and its worst cases.

Run: .venv/bin/python bench/bench_patterns.py [--quick]

1. Engine: the keyword/prefilter scan of every rule over 20 MB of kubectl YAML and 20 MB of logs, with
   Hyperscan (one pass for all rules) and with the fallback (one `str.find` loop per keyword, Python
   `re` for prefilter expressions), and the whole rule pass (scan + patterns + checks) with each.
   pyahocorasick and an alternation of all keywords in Python `re` were measured the same way when the
   engine was chosen (13 and 5 MB/s for the keyword scan alone, Hyperscan 265, str.find x139 3 MB/s).
2. Worst cases: long runs (64 KB, 1 MB, 10 MB) of each character class, alone and after every keyword
   of every rule, through the rule pass, the whole text pass of the redactor, and the audit log's
   command redaction. Every rule's pattern is bounded (checked at load), so each costs time linear in
   its input: the slowest run of each size is printed with its MB/s; nothing should come near 1 s.
Times are CPU time of this process (process_time): the machine is shared.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_redact
from k8s_mcp_server.audit.secrets import redact_command
from k8s_mcp_server.redact import Redactor
from k8s_mcp_server.redact.ruleset import HAVE_HYPERSCAN, load_ruleset, ruleset

CLASSES = {
    "lower": "a",
    "upper": "A",
    "digit": "7",
    "hex": "f",
    "base64": "Q",
    "dash": "-",
    "underscore": "_",
    "dot": ".",
    "slash": "/",
    "plus": "+",
    "equals": "=",
    "colon": ":",
    "space": " ",
    "tab": "\t",
    "newline": "\n",
    "dquote": '"',
    "squote": "'",
    "backslash": "\\",
    "at": "@",
    "percent": "%",
    "tilde": "~",
    "pipe": "|",
    "non-ascii": "é",
    "mixed": "aB3-_./+=:",
}


def cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def engines() -> None:
    fast, slow = ruleset(), load_ruleset(use_hyperscan=False)
    print(f"engine in use: {fast.engine} (hyperscan installed: {HAVE_HYPERSCAN})")
    for name, text in (("yaml List", bench_redact.yaml_list()), ("log text", bench_redact.log_text())):
        mb = len(text) / 1e6
        for label, rules in (("hyperscan", fast), ("str.find fallback", slow)):
            if label == "hyperscan" and rules.engine != "hyperscan":
                continue
            scan = min(cpu(lambda r=rules, t=text: r._scanner.candidates(t)) for _ in range(2))
            full = min(cpu(lambda r=rules, t=text: r.spans(t)) for _ in range(2))
            print(f"  {name} {mb:.0f} MB, {label}: scan {mb / scan:6.0f} MB/s, rules {mb / full:6.0f} MB/s")


def worst_cases(sizes: tuple[int, ...]) -> None:
    rules = ruleset()
    redactor = Redactor()
    keywords = sorted({k for rule in rules.rules for k in rule.spec.keywords})
    keywords += ["password=", "token: ", '"apiKey": "', "- name: API_TOKEN\n  value: ", "https://u:", "eyJ"]
    for size in sizes:
        worst: list[tuple[float, str]] = []
        for cls, run in CLASSES.items():
            body = run * (size // len(run))
            prefixed = "".join(k + run * 64 for k in keywords)
            prefixed = (prefixed * (size // len(prefixed) + 1))[:size]
            for shape, text in ((f"run of {cls}", body), (f"keywords + runs of {cls}", prefixed)):
                worst.append((cpu(lambda t=text: rules.spans(t)), f"rule pass, {shape}"))
                worst.append((cpu(lambda t=text: redactor.redact_text(t)), f"text pass, {shape}"))
                if size <= 1 << 20:  # the audit redacts commands (8 KB at most), a 1 MB one is plenty
                    worst.append((cpu(lambda t=text: redact_command(t)), f"audit command, {shape}"))
        worst.sort(reverse=True)
        print(f"{size / 1e6:6.2f} MB inputs, {len(worst)} runs; slowest of each pass:")
        for kind in ("rule pass", "text pass", "audit command"):
            for seconds, what in [w for w in worst if w[1].startswith(kind)][:2]:
                rate = size / 1e6 / seconds if seconds else float("inf")
                print(f"    {seconds:7.3f} s = {rate:7.1f} MB/s  {what}")


def main() -> None:
    quick = "--quick" in sys.argv
    if not quick:
        engines()
    worst_cases((64 * 1024, 1 << 20) if quick else (64 * 1024, 1 << 20, 10 << 20))


if __name__ == "__main__":
    main()
