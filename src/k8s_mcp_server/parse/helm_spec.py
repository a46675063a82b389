"""helm's command tree, classes and flag tables (generated facts + reviewed overlay, see clispec.py).

Choices: `get values|all|manifest|hooks` are SENSITIVE_READ (values and rendered Secrets);
commands that change the server's own helm state or files (`repo add`, `pull`, `package`, `create`,
`dependency build`) are WRITE; `plugin install|update` and `test` are EXEC (they run code);
`registry login` is CREDENTIAL.
"""

from __future__ import annotations

from k8s_mcp_server.parse import clispec

SPEC = clispec.spec("helm")  # data/helm.json (generated) + overlay/helm.yaml (reviewed)
VERBS = SPEC.verbs
ALIASES = SPEC.aliases
