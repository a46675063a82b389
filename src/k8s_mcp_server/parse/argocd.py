"""argocd's command tree, classes, flag tables and analyzer.

Choices: `app manifests` and `admin export` are SENSITIVE_READ (rendered Secrets); `login`,
`relogin`, `account generate-token`, `account update-password`, `proj role create-token` and
`admin initial-password` are CREDENTIAL; `admin dashboard` is EXEC; other `admin ...` commands are
UNKNOWN. `login SERVER` records the guarded name `server` like `--server`. The request's namespace
field is not supported for argocd (its namespaces are Application namespaces: use `-N`).
"""

from __future__ import annotations

from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values
from k8s_mcp_server.parse.flags import table
from k8s_mcp_server.parse.grammar import Scan, ToolSpec

_CLASSES: dict[C, str] = {
    C.READ: "app/list app/get app/diff app/history app/resources app/logs app/wait app/actions/list "
    "proj/list proj/get proj/windows/list proj/role/list proj/role/get repo/list repo/get "
    "repocreds/list cluster/list cluster/get account/list account/get account/get-user-info "
    "account/can-i cert/list gpg/list gpg/get version appset/list appset/get",
    C.SENSITIVE_READ: "app/manifests admin/export",
    C.WRITE: "app/sync app/rollback app/delete app/create app/set app/unset app/patch "
    "app/terminate-op app/actions/run app/patch-resource app/delete-resource app/edit proj/create "
    "proj/delete proj/set proj/add-destination proj/remove-destination proj/add-source "
    "proj/remove-source proj/allow-cluster-resource proj/deny-cluster-resource "
    "proj/allow-namespace-resource proj/deny-namespace-resource proj/role/create proj/role/delete "
    "proj/role/add-policy proj/role/remove-policy proj/role/delete-token repo/add repo/rm "
    "repocreds/add repocreds/rm cluster/add cluster/rm cluster/set cluster/rotate-auth "
    "account/delete-token cert/add-tls cert/add-ssh cert/rm gpg/add gpg/rm logout admin/import "
    "appset/create appset/delete",
    C.CREDENTIAL: "login relogin account/generate-token account/update-password proj/role/create-token "
    "admin/initial-password admin/redis-initial-password",
    C.EXEC: "admin/dashboard",
    C.LOCAL: "context completion",
    C.UNKNOWN: "admin/settings admin/app admin/cluster admin/proj admin/repo admin/notifications",
}
VERBS = MappingProxyType({v.replace("/", " "): cls for cls, words in _CLASSES.items() for v in words.split()})

ALIASES = MappingProxyType(
    {
        "/apps": "app",
        "/application": "app",
        "/applications": "app",
        "/ctx": "context",
        "/project": "proj",
        "/projects": "proj",
        "/appsets": "appset",
        "/applicationset": "appset",
        "/applicationsets": "appset",
        "app/ls": "list",
        "app/rm": "delete",
        "proj/ls": "list",
        "repo/ls": "list",
        "cluster/ls": "list",
        "account/ls": "list",
    }
)

GLOBAL = table(
    "!auth-token= !client-crt= !client-crt-key= !config= controller-name= core grpc-web "
    "grpc-web-root-path= !H|header= http-retry-max= !insecure !kube-context= logformat= loglevel= "
    "!plaintext port-forward port-forward-namespace= redis-compress= redis-haproxy-name= redis-name= "
    "repo-server-name= !server= !server-crt= server-name= prompts-enabled argocd-context= h|help"
)

COMMON = table(
    "o|output= l|selector= N|app-namespace= p|parameter= project= refresh hard-refresh show-params "
    "show-operation r|repo= cluster= cascade propagation-policy= y|yes wait c|container= f|follow "
    "group= kind= name= namespace= previous since-seconds= tail= until-time= filter= m|match= "
    "prune dry-run force async timeout= revision= resource= strategy= retry-limit= "
    "retry-backoff-duration= retry-backoff-max-duration= retry-backoff-factor= !local= "
    "local-repo-root= apply-out-of-sync-only assumeYes label= server-side replace preview-changes info "
    "exit-code server-side-generate local-include= health sync suspended degraded operation "
    "resource-name= all patch= type= path= dest-server= dest-namespace= dest-name= sync-policy= "
    "self-heal auto-prune allow-empty sync-option= helm-set= helm-set-string= helm-set-file= values= "
    "!values-literal-file= release-name= kustomize-image= directory-recurse config-management-plugin= "
    "annotations= !f|file= upsert validate set-finalizer env= plugin-env= ref= source-name= "
    "source-position= orphaned a|account= e|expires-in= id= !current-password= !new-password= "
    "!from= batch certificate-type= cert-sub-type= hostname-pattern= !username= !password= sso "
    "sso-port= skip-test-tls sso-launch-browser delete client short d|dest= s|src= description= "
    "signature-keys= orphaned-resources in-cluster system-namespace= service-account= annotation= "
    "cluster-resources !kubeconfig= shard= !ssh-private-key-path= !tls-client-cert-path= "
    "!tls-client-cert-key-path= insecure-skip-server-verification enable-lfs enable-oci proxy= "
    "github-app-id= github-app-installation-id= !github-app-private-key-path= i|token-id= t|token-only"
)

VERB_FLAGS = MappingProxyType(
    {
        "app logs": table("p|previous f|follow"),
        "app list": table("p|project="),
        "account generate-token": table("id="),
        "proj role create-token": table("i|id="),
    }
)

SPEC = ToolSpec(
    name="argocd",
    verbs=VERBS,
    aliases=ALIASES,
    global_flags=GLOBAL,
    common_flags=COMMON,
    verb_flags=VERB_FLAGS,
)


def analyze(scan: Scan) -> Facts:
    """Facts of one argocd command."""
    cls = VERBS[scan.path]
    if scan.path == "version" and flag_on(scan, "client"):
        cls = C.LOCAL
    if scan.path == "context" and (scan.positionals or flag_on(scan, "delete")):
        cls = C.WRITE
    guarded = ("server",) if scan.path == "login" and scan.positionals else ()
    namespaces = tuple(
        v for name in ("app-namespace", "dest-namespace", "namespace") for v in flag_values(scan, name) if v
    )
    return Facts(command_class=cls, names=scan.positionals[:1], namespaces=namespaces, guarded=guarded)
