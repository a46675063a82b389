"""kubectl's template debugging dumps: when a jsonpath or go-template fails at run time, kubectl prints
the whole object it was given (Secret data and the last-applied annotation included, in Go's map
syntax that no structural pass reads) after a fixed sentence. The dump is cut, its sentence kept.

    error: error executing jsonpath "{.data.p.x}": Error executing template: x is not found. Printing
    more information for debugging the template:
        template was:
                {.data.p.x}
        object given to jsonpath engine was:
                map[string]interface {}{"apiVersion":"v1", "data":map[string]interface {}{"p":"c2Vj..."}, ...}

Linear: one `str.find` per dump and one pass over the tab-indented lines that follow it.
"""

from __future__ import annotations

from collections.abc import MutableMapping

MARKER = "Printing more information for debugging the template:"
REPLACEMENT = " [the object kubectl printed here was removed by k8s-mcp-server]"
RULE = "template-dump"


def drop_template_dumps(text: str, counts: MutableMapping[str, int]) -> str:
    """`text` with every debugging dump (the tab-indented lines after MARKER) removed."""
    at = text.find(MARKER)
    if at < 0:
        return text
    out: list[str] = []
    done = 0
    while at >= 0:
        head = at + len(MARKER)
        out.append(text[done:head])
        out.append(REPLACEMENT)
        pos = text.find("\n", head)
        pos = len(text) if pos < 0 else pos + 1
        while pos < len(text) and text.startswith("\t", pos):  # the dump: lines that start with a tab
            nl = text.find("\n", pos)
            pos = len(text) if nl < 0 else nl + 1
        out.append("\n")
        counts[RULE] = counts.get(RULE, 0) + 1
        done = pos
        at = text.find(MARKER, done)
    out.append(text[done:])
    return "".join(out)
