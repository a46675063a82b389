"""What a child of the executor may see of its environment: these names and nothing else.

Written out here, not imported from execute/workspace.py, so that a variable added to the child's
environment by mistake makes the tests fail instead of silently widening what they accept.
"""

ALLOWED_CHILD_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TZ",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "HELM_CONFIG_HOME",
        "HELM_CACHE_HOME",
        "HELM_DATA_HOME",
        "HELM_PLUGINS",
        "KUBECACHEDIR",
        "KUBECTL_KUBERC",
        "KUBECONFIG",
    }
)
# Added by the server's child limits (execute/limits.py), to every stage: the Go GC's target.
LIMITS_ENV = frozenset({"GOMEMLIMIT"})
# What a child of the real server sees: the workspace's names and the limits'.
SERVER_CHILD_ENV = ALLOWED_CHILD_ENV | LIMITS_ENV
