"""helm's command tree, classes, flag tables and analyzer.

Choices: `get values|all|manifest|hooks` are SENSITIVE_READ (values and rendered Secrets);
commands that change the server's own helm state or files (`repo add`, `pull`, `package`, `create`,
`dependency build`) are WRITE; `plugin install|update` and `test` are EXEC (they run code);
`registry login` is CREDENTIAL. Chart references that are local paths (`/`, `.`, `~`, `file://`, or a
bare name without `/` and without `--repo`, which helm can only find on disk) record the guarded name
`chart-path`, since they read the server's files.
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse.facts import Facts, check_template, flag_values
from k8s_mcp_server.parse.flags import table
from k8s_mcp_server.parse.grammar import Scan, ToolSpec

_CLASSES: dict[C, str] = {
    C.READ: "list status history get/notes get/metadata show/chart show/readme show/crds show/all "
    "show/values template search/hub lint verify dependency/list",
    C.SENSITIVE_READ: "get/values get/all get/manifest get/hooks",
    C.WRITE: "install upgrade rollback uninstall repo/add repo/update repo/remove pull push package "
    "create dependency/build dependency/update registry/logout plugin/uninstall",
    C.EXEC: "plugin/install plugin/update test",
    C.CREDENTIAL: "registry/login",
    C.LOCAL: "version env completion repo/list search/repo plugin/list",
}
VERBS = MappingProxyType({v.replace("/", " "): cls for cls, words in _CLASSES.items() for v in words.split()})

ALIASES = MappingProxyType(
    {
        "/ls": "list",
        "/hist": "history",
        "/un": "uninstall",
        "/del": "uninstall",
        "/delete": "uninstall",
        "/inspect": "show",
        "/fetch": "pull",
        "/dep": "dependency",
        "/dependencies": "dependency",
        "repo/ls": "list",
        "repo/rm": "remove",
        "plugin/ls": "list",
        "plugin/rm": "uninstall",
        "plugin/remove": "uninstall",
        "dependency/ls": "list",
    }
)

GLOBAL = table(
    "burst-limit= debug !kube-apiserver= !kube-as-group= !kube-as-user= !kube-ca-file= !kube-context= "
    "!kube-insecure-skip-tls-verify !kube-tls-server-name= !kube-token= !kubeconfig= n|namespace= qps= "
    "!registry-config= !repository-cache= !repository-config= !content-cache= h|help color= colour="
)

COMMON = table(
    "o|output= revision= A|all-namespaces q|short m|max= offset= no-headers time-format= "
    "deployed failed pending superseded uninstalled uninstalling l|selector= f|filter= date "
    "show-desc show-resources template= version= devel !repo= username= !password= !ca-file= !cert-file= "
    "!key-file= insecure-skip-tls-verify pass-credentials !keyring= verify plain-http jsonpath= set= "
    "set-string= set-json= set-literal= !set-file= !f|values= atomic rollback-on-failure wait? "
    "wait-for-jobs timeout= create-namespace dry-run? description= disable-openapi-validation skip-crds "
    "no-hooks force g|generate-name name-template= !post-renderer= !post-renderer-args= "
    "render-subchart-notes replace dependency-update enable-dns labels= take-ownership hide-notes "
    "skip-schema-validation hide-secret i|install reuse-values reset-values reset-then-reuse-values "
    "history-max= cleanup-on-fail recreate-pods cascade= ignore-not-found keep-history "
    "!output-dir= api-versions= kube-version= include-crds is-upgrade s|show-only= validate "
    "release-name force-update !password-stdin allow-deprecated-repos no-update "
    "fail-on-repo-update-fail r|regexp max-col-width= fail-on-no-result endpoint= list-repo-url "
    "untar !untardir= !d|destination= prov app-version= u|dependency-update sign key= "
    "!passphrase-file= strict with-subcharts skip-refresh insecure logs c|client p|starter= "
    "no-descriptions server-side? force-conflicts"
)

VERB_FLAGS = MappingProxyType(
    {
        "list": table("a|all d|date r|reverse f|filter="),
        "get values": table("a|all"),
        "template": table("a|api-versions="),
        "search repo": table("l|versions"),
        "registry login": table("u|username= !p|password="),
        "repo add": table("!password="),
    }
)

SPEC = ToolSpec(
    name="helm",
    verbs=VERBS,
    aliases=ALIASES,
    global_flags=GLOBAL,
    common_flags=COMMON,
    verb_flags=VERB_FLAGS,
)

_CHART_ARG = {
    "show": 0,
    "template": 1,
    "install": 1,
    "upgrade": 1,
    "lint": 0,
    "package": 0,
    "pull": 0,
    "push": 0,
    "verify": 0,
    "dependency": 0,
}
_LOCAL_PREFIXES = ("/", ".", "~", "file:")
_REMOTE_PREFIXES = ("oci://", "https://", "http://")


def _chart_reads_files(chart: str, scan: Scan) -> bool:
    """Whether helm would read `chart` from the server's files.

    helm tries a chart reference as a local path first. A path-like reference (`./c`, `/c`, `~/c`,
    `file://`) always is one; a bare name without `/` can only be one too, unless `--repo` names the
    repository it comes from (`--repo` is guarded itself). `repo/name` and URLs are remote references.
    """
    if chart.startswith(_LOCAL_PREFIXES):
        return True
    if chart.startswith(_REMOTE_PREFIXES) or "/" in chart:
        return False
    return not any(flag_values(scan, "repo"))


def analyze(scan: Scan) -> Facts:
    """Facts of one helm command: chart paths and templates are the risky parts."""
    head = scan.path.split(" ")[0]
    guarded: tuple[str, ...] = ()
    index = _CHART_ARG.get(head)
    args = scan.positionals
    if head in ("template", "install") and (any(flag_values(scan, "generate-name")) or len(args) == 1):
        index = 0  # `helm template CHART` and `helm install CHART --generate-name` have no NAME
    chart = args[index] if index is not None and index < len(args) else None
    if (chart is not None and _chart_reads_files(chart, scan)) or head in ("package", "lint", "dependency"):
        guarded = ("chart-path",)
    for template in flag_values(scan, "template"):
        if template is not None:
            check_template(template, "--template")
    return Facts(command_class=VERBS[scan.path], names=args[:1], guarded=guarded)
