"""helm's command tree, classes and flag tables (see flags.py for the table syntax).

Choices: `get values|all|manifest|hooks` are SENSITIVE_READ (values and rendered Secrets);
commands that change the server's own helm state or files (`repo add`, `pull`, `package`, `create`,
`dependency build`) are WRITE; `plugin install|update` and `test` are EXEC (they run code);
`registry login` is CREDENTIAL.
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse.flags import table
from k8s_mcp_server.parse.grammar import ToolSpec

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
