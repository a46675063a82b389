"""istioctl's command tree, classes, flag tables and analyzer.

Choices: `proxy-config secret` is SENSITIVE_READ; `proxy-config log` and `admin log` are WRITE when
they set levels (`--level`, `--reset`); `dashboard ...` is EXEC (it opens a port-forward);
`create-remote-secret` is CREDENTIAL; `bug-report` is UNKNOWN (it collects cluster-wide data, secrets
included with `--full-secrets`, into a file on the server). Positional file arguments (`analyze
FILE`, `validate FILE`) record the guarded name `filename`, like `-f`.
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values
from k8s_mcp_server.parse.flags import table
from k8s_mcp_server.parse.grammar import Scan, ToolSpec

_DASHBOARDS = "kiali grafana jaeger zipkin prometheus envoy controlz skywalking istiod-debug proxy"
_PC = "cluster listener route endpoint bootstrap log all ecds rootca-compare"
_CLASSES: dict[C, str] = {
    C.READ: "analyze proxy-status version verify-install validate kube-inject manifest/generate "
    "tag/list waypoint/list waypoint/status admin/log x/describe/pod x/describe/service x/precheck "
    "x/authz/check x/check-inject x/envoy-stats x/internal-debug x/metrics x/injector/list x/wait "
    "x/revision/list x/revision/describe " + " ".join(f"proxy-config/{p}" for p in _PC.split()),
    C.SENSITIVE_READ: "proxy-config/secret",
    C.WRITE: "install uninstall upgrade manifest/install tag/set tag/remove waypoint/apply "
    "waypoint/delete x/workload/entry/configure x/workload/group/create",
    C.LOCAL: "completion tag/generate waypoint/generate x/config/list",
    C.EXEC: " ".join(f"dashboard/{d}" for d in _DASHBOARDS.split()),
    C.CREDENTIAL: "create-remote-secret",
    C.UNKNOWN: "bug-report",
}
VERBS = MappingProxyType(
    {
        v.replace("/", " ").replace("x ", "experimental ", 1): cls
        for cls, words in _CLASSES.items()
        for v in words.split()
    }
)

ALIASES = MappingProxyType(
    {
        "/pc": "proxy-config",
        "/ps": "proxy-status",
        "/dash": "dashboard",
        "/d": "dashboard",
        "/x": "experimental",
        "/exp": "experimental",
        **{
            f"proxy-config/{a}": p
            for p, aliases in {
                "cluster": "clusters c",
                "listener": "listeners l",
                "route": "routes r",
                "endpoint": "endpoints ep",
                "secret": "secrets s",
                "bootstrap": "b",
                "log": "o",
                "all": "a",
            }.items()
            for a in aliases.split()
        },
        "experimental describe/po": "pod",
        "experimental describe/svc": "service",
    }
)

GLOBAL = table(
    "!context= i|istioNamespace= !c|kubeconfig= n|namespace= !vklog= log_output_level= log_as_json "
    "log_caller= log_stacktrace_level= !log_target= h|help"
)

COMMON = table(
    "A|all-namespaces R|recursive use-kube? o|output= color failure-threshold= output-threshold= "
    "L|list-analyzers !meshConfigFile= S|suppress= timeout= v|verbose ignore-unknown r|revision= "
    "fqdn= port= direction= subset= address= type= name= cluster= status= !f|file= level= reset "
    "proxy-admin-port= l|selector= xds-address= xds-port= !cert-dir= insecure authority= plaintext "
    "browser ui-port= s|set= y|skip-confirmation dry-run verify !d|manifests= force readiness-timeout= "
    "purge cluster-specific !injectConfigFile= !valuesFile= injectConfigMapName= meshConfigMapName= "
    "webhookConfig= service-account= secret-name= !server= create-service-account auth-type= "
    "auth-plugin-name= auth-plugin-config= manifests= stack-trace-level= ctrlz_port= remote short "
    "overwrite webhook-name= auto-inject-namespaces for= enroll-namespace= wait all include= exclude= "
    "duration= start-time= end-time= full-secrets critical-errs !dir= rq-concurrency= x|referential "
    "ignoreUnmeshed"
)

VERB_FLAGS = MappingProxyType(
    {
        "dashboard": table("p|port="),
        "kube-inject": table("!f|filename= !o|output="),
        "install": table("!f|filename="),
        "upgrade": table("!f|filename="),
        "uninstall": table("!f|filename="),
        "manifest": table("!f|filename= !o|output="),
        "verify-install": table("!f|filename="),
        "validate": table("!f|filename="),
        "proxy-config log": table("r|reset"),
    }
)

SPEC = ToolSpec(
    name="istioctl",
    verbs=VERBS,
    aliases=ALIASES,
    global_flags=GLOBAL,
    common_flags=COMMON,
    verb_flags=VERB_FLAGS,
)


def analyze(scan: Scan) -> Facts:
    """Facts of one istioctl command."""
    cls = VERBS[scan.path]
    if scan.path in ("proxy-config log", "admin log") and (
        any(flag_values(scan, "level"))
        or flag_on(scan, "reset")
        or any(flag_values(scan, "stack-trace-level"))
    ):
        cls = C.WRITE
    guarded = ("filename",) if scan.path in ("analyze", "validate") and scan.positionals else ()
    namespaces = tuple(v for v in flag_values(scan, "istioNamespace") if v)
    return Facts(command_class=cls, names=scan.positionals[:1], namespaces=namespaces, guarded=guarded)
